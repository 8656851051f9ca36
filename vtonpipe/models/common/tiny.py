"""Where a tiny preset keeps its weights: beside the IRs it was converted into."""

# build_tiny_ir(out_dir) writes the seeded weights to out_dir/TINY_WEIGHTS and the IR folder to out_dir.
TINY_WEIGHTS = "tiny-weights"
