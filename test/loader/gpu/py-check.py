# The Python route: onnxruntime's register_custom_ops_library with the fa-onnx ops library.
import sys, numpy as np, onnxruntime as ort
lib = sys.argv[1]
so = ort.SessionOptions()
so.register_custom_ops_library(lib)
s = ort.InferenceSession('fa32.onnx', so, providers=['CPUExecutionProvider'])
rng = np.random.default_rng(0)
q = rng.standard_normal((2, 40, 8, 64), dtype=np.float32); k = rng.standard_normal((2, 50, 2, 64), dtype=np.float32); v = rng.standard_normal((2, 50, 2, 64), dtype=np.float32)
o = s.run(None, {'q': q, 'k': k, 'v': v})[0]
# float64 reference, causal top-left, GQA 8/2
qd, kd, vd = (x.astype(np.float64) for x in (q, k, v))
kd = np.repeat(kd, 4, axis=2); vd = np.repeat(vd, 4, axis=2)
sc = np.einsum('bshd,bthd->bhst', qd, kd) / 8.0
mask = np.triu(np.ones((40, 50), bool), 1)
sc[:, :, mask] = -np.inf
p = np.exp(sc - sc.max(-1, keepdims=True)); p /= p.sum(-1, keepdims=True)
ref = np.einsum('bhst,bthd->bshd', p, vd)
print('python onnxruntime', ort.__version__, 'rel L2', float(np.linalg.norm(o - ref) / np.linalg.norm(ref)))
