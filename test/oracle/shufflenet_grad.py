"""Exports torchvision's ShuffleNetV2 x0.5 (seeded default init, eval mode) to ONNX as users do (opset 13, symbolic
batch, height and width: the channel shuffle becomes Reshape/Transpose to shapes computed from Shape nodes), and
computes with torch autograd the reference gradient the training graph must reproduce: of the MSE between the logits
and a seeded random teacher, with respect to a tensor `delta` added to the output of the max pool (a point every
block of the network lies behind, and whose gradient BatchNorm folding does not change).

    /usr/bin/python3 shufflenet_grad.py OUT.onnx SIZE

Prints JSON: {"x": [...], "dims": [N, 3, S, S], "teacher": [...], "grad": [...], "deltaDims": [...]}.
"""
import json
import sys

import torch
import torchvision

out, size = sys.argv[1], int(sys.argv[2])
torch.manual_seed(0)
model = torchvision.models.shufflenet_v2_x0_5().eval()
torch.onnx.export(model, torch.randn(1, 3, size, size), out, opset_version=13, input_names=['input'], output_names=['logits'],
                  dynamic_axes={'input': {0: 'batch', 2: 'height', 3: 'width'}, 'logits': {0: 'batch'}})

x = torch.randn(2, 3, size, size)
with torch.no_grad():
    pooled = model.maxpool(model.conv1(x))
delta = torch.zeros(pooled.shape[1:], requires_grad=True)
model.maxpool.register_forward_hook(lambda module, inputs, output: output + delta)
logits = model(x)
teacher = torch.randn(logits.shape)
loss = ((logits - teacher) ** 2).mean()
loss.backward()
print(json.dumps({
    'x': x.flatten().tolist(), 'dims': list(x.shape), 'teacher': teacher.flatten().tolist(),
    'grad': delta.grad.flatten().tolist(), 'deltaDims': list(delta.shape),
}))
