"""Model families: official checkpoints -> OpenVINO IR folders -> numpy/OpenVINO runtimes.

Every family is a package ``vtonpipe.models.<family>`` with the same shape (the registry in
``families.py`` checks it):

``__init__.py`` (imports nothing heavy) declares the family's names once:
    FAMILY       the family name, also the `models tiny|convert` argument and model.json "family"
    DESCRIPTION  one line for `vtonpipe models list`
    LICENSE      the licence of the official weights (vtonpipe's code is Apache-2.0 either way)
    WEIGHTS      the official files `models convert --weights` takes, in words
    RUNTIME      the class name of the runtime in ``runtime.py``
    IR_NAMES     the IRs an IR folder of this family holds (<name>.xml/.bin), plus per family
                 the input and output names of each IR as constants

``checkpoint.py`` (convert extra)  ``load_checkpoint(path, ...)``: official file(s) -> loaded torch
    definition, read with ``common.convert.read_checkpoint`` and loaded with ``load_strict``;
    a missing, unexpected or mis-shaped key is a ModelFilesError naming it.
``definition.py`` (convert extra)  torch modules whose state_dict keys are the official ones.
``export.py`` (convert extra)  ``export_ir(loaded, out_dir, ...)`` writes the IRs (through
    ``common.convert.to_openvino``) and model.json (``common.ir.write_model_json``);
    ``add_convert_arguments(parser)`` / ``convert_from_args(args, calibration)`` are the
    `vtonpipe models convert <family>` command (``calibration`` builds INT8 calibration pairs;
    families without INT8 PTQ ignore it).
``tiny.py`` (convert extra)  ``write_tiny_weights(root, *, seed=0, ...)`` writes seeded random
    weights in the official file layout; ``build_tiny_ir(out_dir, *, seed=0, ...)`` writes them
    under ``out_dir/tiny-weights`` and converts them, through load_checkpoint and export_ir, into
    the IR folder ``out_dir`` itself. Preset options are keyword-only parameters with defaults.
``runtime.py`` (runtime only: openvino, numpy, opencv, pillow)  ``<RUNTIME>(ir_dir, device="CPU",
    *, threads=None, cache_dir=None, ...)`` reads ``common.ir.read_ir`` (``.info``, ``.model_id``),
    compiles with ``common.ir.compile_ir`` and is called with numpy arrays.

models/ imports only labels/, errors, atomic and its own common/; never datasets/, masks/,
manifests/, stages/ or pipeline/.
"""
