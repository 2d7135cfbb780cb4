#!/usr/bin/env python3
"""Exports the benchmark peers' models from torchvision (random weights, eval mode, BN folded by the
exporter) as float ONNX, and builds the ONNX Runtime int8 QDQ form of each with onnx alone.

  /usr/bin/python3 bench/export_models.py [OUT_DIR]     (default bench/models, gitignored)

Needs: apt-get install -y python3-torch python3-torchvision python3-onnx.

The QDQ form is for SPEED only: scales are fixed, not calibrated (the weights are random anyway).
Activations are uint8 (ONNX Runtime's fastest int8 form on x86: U8S8), weights int8 symmetric per
output channel, bias int32. Every Conv/Gemm input gets QuantizeLinear+DequantizeLinear and every weight
a DequantizeLinear, so ONNX Runtime fuses DQ->Conv->Q into QLinearConv. Tensors produced by Relu use
zero point 0 and those produced by Clip(0,6) the scale 6/255, so its Relu/Clip-into-Q fusions apply.
"""
import os
import sys

import numpy as np
import onnx
import torch
import torchvision
from onnx import helper, numpy_helper, TensorProto

MODELS = {
    "mobilenet_v2_1.0_224": (lambda: torchvision.models.mobilenet_v2(width_mult=1.0), 224),
    "mobilenet_v2_0.35_96": (lambda: torchvision.models.mobilenet_v2(width_mult=0.35), 96),
    "resnet18_224": (lambda: torchvision.models.resnet18(), 224),
}


def export_float(name, make, res, out_dir):
    torch.manual_seed(0)
    model = make().eval()
    path = os.path.join(out_dir, name + ".onnx")
    x = torch.randn(1, 3, res, res)
    torch.onnx.export(model, x, path, input_names=["input"], output_names=["logits"], opset_version=13,
                      do_constant_folding=True)
    return path


def qdq(float_path, out_path):
    m = onnx.load(float_path)
    g = m.graph
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
        elif n.op_type == "Identity" and n.input[0] in consts:  # the exporter shares equal constants this way
            consts[n.output[0]] = consts[n.input[0]]
    producer = {o: n for n in g.node for o in n.output}
    quantized_ops = [n for n in g.node if n.op_type in ("Conv", "Gemm") and n.input[1] in consts]
    # Activation tensors that get Q->DQ: inputs of quantized ops and outputs of Conv/Relu/Clip/Add.
    acts = {n.input[0] for n in quantized_ops}
    acts |= {n.output[0] for n in g.node if n.op_type in ("Conv", "Relu", "Clip", "Add")}
    new_inits, pre, post = [], {}, {}

    def act_params(t):
        p = producer.get(t)
        if p is not None and p.op_type == "Relu":
            return 0.02, 0
        if p is not None and p.op_type == "Clip":
            return 6.0 / 255, 0
        return 0.05, 128

    scale_of = {}
    for t in acts:
        s, zp = act_params(t)
        scale_of[t] = s
        new_inits.append(numpy_helper.from_array(np.array(s, np.float32), t + "_qs"))
        new_inits.append(numpy_helper.from_array(np.array(zp, np.uint8), t + "_qz"))
        post[t] = [helper.make_node("QuantizeLinear", [t, t + "_qs", t + "_qz"], [t + "_q"]),
                   helper.make_node("DequantizeLinear", [t + "_q", t + "_qs", t + "_qz"], [t + "_dq"])]

    for n in quantized_ops:
        wname = n.input[1]
        w = consts[wname].astype(np.float32)
        transposed = n.op_type == "Gemm" and not any(a.name == "transB" and a.i == 1 for a in n.attribute)
        axis = 1 if transposed else 0
        flat = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
        ws = (np.maximum(np.abs(flat).max(axis=1), 1e-8) / 127.0).astype(np.float32)
        shape = [1] * w.ndim
        shape[axis] = -1
        wq = np.clip(np.round(w / ws.reshape(shape)), -127, 127).astype(np.int8)
        tag = n.name or wname
        new_inits += [numpy_helper.from_array(wq, tag + "_wq"), numpy_helper.from_array(ws, tag + "_ws"),
                      numpy_helper.from_array(np.zeros(len(ws), np.int8), tag + "_wz")]
        nodes = [helper.make_node("DequantizeLinear", [tag + "_wq", tag + "_ws", tag + "_wz"], [tag + "_wdq"], axis=axis)]
        inputs = [n.input[0] + "_dq", tag + "_wdq"]
        if len(n.input) > 2 and n.input[2]:
            b = consts[n.input[2]].astype(np.float32)
            bs = (ws * scale_of[n.input[0]]).astype(np.float32)
            new_inits += [numpy_helper.from_array(np.round(b / bs).astype(np.int32), tag + "_bq"),
                          numpy_helper.from_array(bs, tag + "_bs"),
                          numpy_helper.from_array(np.zeros(len(bs), np.int32), tag + "_bz")]
            nodes.append(helper.make_node("DequantizeLinear", [tag + "_bq", tag + "_bs", tag + "_bz"], [tag + "_bdq"], axis=0))
            inputs.append(tag + "_bdq")
        pre[id(n)] = nodes
        del n.input[:]
        n.input.extend(inputs)

    final = list(post.get(g.input[0].name, []))
    for n in g.node:
        final += pre.get(id(n), [])
        # Every consumer of a quantized activation reads its dequantized copy.
        for i, t in enumerate(n.input):
            if t in acts and not t.endswith("_dq"):
                n.input[i] = t + "_dq"
        final.append(n)
        for o in n.output:
            final += post.get(o, [])
    del g.node[:]
    g.node.extend(final)
    used = {i for nd in final for i in nd.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep + new_inits)
    onnx.checker.check_model(m)
    onnx.save(m, out_path)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")
    os.makedirs(out_dir, exist_ok=True)
    for name, (make, res) in MODELS.items():
        path = export_float(name, make, res, out_dir)
        qdq(path, os.path.join(out_dir, name + ".qdq.onnx"))
        print(name, "->", path, "and", name + ".qdq.onnx")


if __name__ == "__main__":
    main()
