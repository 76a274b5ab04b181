"""Running the compiled circuit: one pipeline (batching, values, guards, provenance) and the
protocols on top of it, plain trials (``simulate``) and conditioning."""
