"""python -m benchmarks: chainrule against micrograd, PyTorch 0-d tensors and the floor."""
