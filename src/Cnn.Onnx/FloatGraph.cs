using Cnn.Onnx.Proto;

namespace Cnn.Onnx;

/// <summary>
/// A float ONNX model as a typed graph: nodes, constant initializers, graph inputs and outputs,
/// and the model's metadata_props. Read with <see cref="Load"/>/<see cref="FromBytes"/> (validated and
/// topologically sorted), build in code and write with <see cref="Save"/>/<see cref="ToBytes"/>.
/// See src/Cnn.Onnx/README.md for an export example.
/// </summary>
public sealed class FloatGraph
{
    public string Name { get; set; } = "graph";
    public List<OnnxNode> Nodes { get; } = [];
    /// <summary>Constant tensors by name (weights, biases, BN statistics, Reshape shapes).</summary>
    public Dictionary<string, OnnxTensor> Initializers { get; } = [];
    /// <summary>Runtime inputs (initializers listed as inputs by old exporters are not included).</summary>
    public List<OnnxValueInfo> Inputs { get; } = [];
    public List<OnnxValueInfo> Outputs { get; } = [];
    /// <summary>ModelProto.metadata_props, e.g. input.layout, input.pixel_scale, input.mean, input.std, labels.</summary>
    public Dictionary<string, string> Metadata { get; } = [];
    /// <summary>Version of the default ("ai.onnx") operator set.</summary>
    public long OpsetVersion { get; set; } = 13;
    public long IrVersion { get; set; } = 8;
    public string ProducerName { get; set; } = "Cnn.Onnx";
    public string ProducerVersion { get; set; } = "";

    // ---------------------------------------------------------------- building

    public OnnxValueInfo AddInput(string name, int[] shape)
    {
        var v = new OnnxValueInfo(name, shape);
        Inputs.Add(v);
        return v;
    }

    public OnnxValueInfo AddOutput(string name, int[]? shape = null)
    {
        var v = new OnnxValueInfo(name, shape);
        Outputs.Add(v);
        return v;
    }

    public OnnxTensor AddInitializer(string name, int[] dims, float[] data)
    {
        var t = new OnnxTensor(name, dims, data);
        Initializers[name] = t;
        return t;
    }

    public OnnxTensor AddInitializer(string name, int[] dims, long[] data)
    {
        var t = new OnnxTensor(name, dims, data);
        Initializers[name] = t;
        return t;
    }

    /// <summary>Appends a node; nodes must be added in an order where every input is already defined
    /// (graph inputs, initializers or earlier outputs) for the file to be valid ONNX.</summary>
    public OnnxNode AddNode(string opType, string name, string[] inputs, string[] outputs, params OnnxAttribute[] attributes)
    {
        var n = new OnnxNode(opType, name, inputs, outputs, attributes);
        Nodes.Add(n);
        return n;
    }

    // ---------------------------------------------------------------- reading

    public static FloatGraph Load(string path, OnnxReadLimits? limits = null)
    {
        limits ??= OnnxReadLimits.Default;
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"ONNX file not found: {path}", path);
        if (info.Length > limits.MaxFileBytes)
            throw new OnnxFormatException(path, $"{info.Length} bytes is over the limit of {limits.MaxFileBytes} bytes");
        try
        {
            return FromBytes(File.ReadAllBytes(path), limits);
        }
        catch (OnnxFormatException e)
        {
            throw new OnnxFormatException($"{Path.GetFileName(path)}: {e.Where}", e.Problem, e);
        }
    }

    public static FloatGraph FromBytes(byte[] file, OnnxReadLimits? limits = null)
    {
        limits ??= OnnxReadLimits.Default;
        return FromModel(OnnxProtoReader.ReadModel(file, limits), limits);
    }

    public static FloatGraph FromModel(ModelProto model, OnnxReadLimits? limits = null)
    {
        limits ??= OnnxReadLimits.Default;
        var gp = model.Graph ?? throw new OnnxFormatException("model", "has no graph");
        var g = new FloatGraph
        {
            Name = gp.Name,
            IrVersion = model.IrVersion,
            ProducerName = model.ProducerName,
            ProducerVersion = model.ProducerVersion,
        };
        g.OpsetVersion = 0;
        foreach (var op in model.OpsetImport)
        {
            if (op.Domain is "" or "ai.onnx") g.OpsetVersion = op.Version;
        }
        foreach (var e in model.MetadataProps) g.Metadata[e.Key] = e.Value;

        foreach (var t in gp.Initializer)
        {
            if (t.Name.Length == 0) throw new OnnxFormatException("initializer", "has no name");
            if (g.Initializers.ContainsKey(t.Name)) throw new OnnxFormatException($"initializer '{t.Name}'", "is defined twice");
            g.Initializers[t.Name] = OnnxTensor.FromProto(t, limits, $"initializer '{t.Name}'");
        }
        foreach (var v in gp.Input)
        {
            if (!g.Initializers.ContainsKey(v.Name)) g.Inputs.Add(ValueInfo(v, limits));
        }
        foreach (var v in gp.Output) g.Outputs.Add(ValueInfo(v, limits));
        int index = 0;
        foreach (var np in gp.Node)
        {
            string name = np.Name.Length > 0 ? np.Name : $"{np.OpType}_{index}";
            var node = new OnnxNode(np.OpType, name, np.Input, np.Output) { Domain = np.Domain };
            foreach (var a in np.Attribute) node.Attributes[a.Name] = OnnxAttribute.FromProto(a, limits, node.Describe());
            g.Nodes.Add(node);
            index++;
        }
        g.Validate();
        g.SortTopologically();
        return g;
    }

    private static OnnxValueInfo ValueInfo(ValueInfoProto v, OnnxReadLimits limits)
    {
        int[]? shape = null;
        if (v.Shape != null)
        {
            if (v.Shape.Count > limits.MaxRank)
                throw new OnnxFormatException($"value '{v.Name}'", $"rank {v.Shape.Count} is over the limit of {limits.MaxRank}");
            shape = new int[v.Shape.Count];
            for (int i = 0; i < shape.Length; i++)
            {
                long? d = v.Shape[i].Value;
                if (d is < 0 || d > limits.MaxElements)
                    throw new OnnxFormatException($"value '{v.Name}'", $"dimension {i} is {d}; expected 0..{limits.MaxElements}");
                shape[i] = d.HasValue ? (int)d.Value : -1;
            }
        }
        return new OnnxValueInfo(v.Name, shape, v.ElemType);
    }

    /// <summary>
    /// Checks the graph is well formed: named, uniquely defined values; every node input defined
    /// (graph input, initializer or a node output); every graph output produced; no cycle.
    /// Throws <see cref="OnnxFormatException"/> naming the offending node or value.
    /// </summary>
    public void Validate()
    {
        var defined = new HashSet<string>(Initializers.Keys);
        foreach (var i in Inputs)
        {
            if (i.Name.Length == 0) throw new OnnxFormatException("graph input", "has no name");
            if (!defined.Add(i.Name)) throw new OnnxFormatException($"graph input '{i.Name}'", "is defined twice");
        }
        foreach (var n in Nodes)
        {
            if (n.OpType.Length == 0) throw new OnnxFormatException(n.Describe(), "has no op_type");
            foreach (var o in n.Outputs)
            {
                if (o.Length == 0) continue;
                if (!defined.Add(o)) throw new OnnxFormatException(n.Describe(), $"output '{o}' is already defined by another node, input or initializer");
            }
        }
        foreach (var n in Nodes)
        {
            foreach (var i in n.Inputs)
            {
                if (i.Length > 0 && !defined.Contains(i))
                    throw new OnnxFormatException(n.Describe(), $"input '{i}' is not defined by any graph input, initializer or node output");
            }
        }
        foreach (var o in Outputs)
        {
            if (!defined.Contains(o.Name))
                throw new OnnxFormatException($"graph output '{o.Name}'", "is not produced by any node");
        }
    }

    /// <summary>Orders <see cref="Nodes"/> so every node comes after the producers of its inputs (stable: keeps file order where possible).
    /// Throws when the nodes form a cycle, naming the nodes on it.</summary>
    public void SortTopologically()
    {
        var producer = new Dictionary<string, int>();
        for (int i = 0; i < Nodes.Count; i++)
        {
            foreach (var o in Nodes[i].Outputs)
            {
                if (o.Length > 0) producer[o] = i;
            }
        }
        var pending = new int[Nodes.Count];
        var consumers = new List<int>[Nodes.Count];
        for (int i = 0; i < Nodes.Count; i++) consumers[i] = [];
        for (int i = 0; i < Nodes.Count; i++)
        {
            foreach (var inp in Nodes[i].Inputs)
            {
                if (inp.Length > 0 && producer.TryGetValue(inp, out int p))
                {
                    pending[i]++;
                    consumers[p].Add(i);
                }
            }
        }
        var ready = new PriorityQueue<int, int>();
        for (int i = 0; i < Nodes.Count; i++)
        {
            if (pending[i] == 0) ready.Enqueue(i, i);
        }
        var order = new List<OnnxNode>(Nodes.Count);
        while (ready.TryDequeue(out int i, out _))
        {
            order.Add(Nodes[i]);
            foreach (int c in consumers[i])
            {
                if (--pending[c] == 0) ready.Enqueue(c, c);
            }
        }
        if (order.Count != Nodes.Count)
        {
            var stuck = Enumerable.Range(0, Nodes.Count).Where(i => pending[i] > 0).Select(i => $"'{Nodes[i].Name}'").Take(10);
            throw new OnnxFormatException("graph", $"nodes form a cycle (or depend on one): {string.Join(", ", stuck)}");
        }
        Nodes.Clear();
        Nodes.AddRange(order);
    }

    // ---------------------------------------------------------------- writing

    public ModelProto ToModel()
    {
        var m = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = ProducerName,
            ProducerVersion = ProducerVersion,
            Graph = new GraphProto { Name = Name },
        };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        foreach (var (k, v) in Metadata) m.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        var g = m.Graph;
        foreach (var n in Nodes)
        {
            var np = new NodeProto { Name = n.Name, OpType = n.OpType, Domain = n.Domain };
            np.Input.AddRange(n.Inputs);
            np.Output.AddRange(n.Outputs);
            foreach (var a in n.Attributes.Values) np.Attribute.Add(a.ToProto());
            g.Node.Add(np);
        }
        foreach (var t in Initializers.Values) g.Initializer.Add(t.ToProto());
        foreach (var v in Inputs) g.Input.Add(ValueInfoProto(v));
        foreach (var v in Outputs) g.Output.Add(ValueInfoProto(v));
        return m;
    }

    private static ValueInfoProto ValueInfoProto(OnnxValueInfo v)
    {
        var p = new ValueInfoProto { Name = v.Name, ElemType = v.ElemType };
        if (v.Shape != null)
        {
            p.Shape = [.. v.Shape.Select(d => d >= 0 ? new DimensionProto { Value = d } : new DimensionProto { Param = "N" })];
        }
        return p;
    }

    /// <summary>Serializes after <see cref="Validate"/>, so a written file always reads back.</summary>
    public byte[] ToBytes()
    {
        Validate();
        return OnnxProtoWriter.WriteModel(ToModel());
    }

    /// <summary>Writes the model to <paramref name="path"/> through a temporary file and a rename, so a
    /// failure never leaves a half-written model behind.</summary>
    public void Save(string path)
    {
        byte[] bytes = ToBytes();
        string full = Path.GetFullPath(path);
        string tmp = full + ".tmp-" + Environment.ProcessId;
        try
        {
            File.WriteAllBytes(tmp, bytes);
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>The producer of a value, or null for graph inputs and initializers.</summary>
    public OnnxNode? Producer(string value) => Nodes.FirstOrDefault(n => n.Outputs.Contains(value));

    /// <summary>All nodes that read a value.</summary>
    public IEnumerable<OnnxNode> Consumers(string value) => Nodes.Where(n => n.Inputs.Contains(value));
}
