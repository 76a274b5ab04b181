"""The circuit as a model: neuron models, the structure that fixes the compiled code, the
run-time constants, the brian2 network and its faster kernels."""
