"""Label tables and palettes every layer reads: human parsing (LIP, ATR, CIHP), DensePose parts,
body keypoints. Nothing here imports from the rest of vtonpipe.
"""
