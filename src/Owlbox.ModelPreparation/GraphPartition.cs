using Onnx;

namespace Owlbox.ModelPreparation;

/// <summary>One part of a split graph: its nodes in the graph's (topological) order, the tensors it reads from outside
/// (graph inputs or another part's outputs; initializers it uses are <see cref="Initializers"/>), and the tensors it
/// hands on (to the head, or as graph outputs).</summary>
public sealed record GraphPart(IReadOnlyList<NodeProto> Nodes, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs, IReadOnlyList<string> Initializers);

/// <summary>The three parts of an OWL graph: what depends on the image inputs only, what on the text inputs only, and
/// the head that combines them.</summary>
public sealed record Partition(GraphPart Image, GraphPart Text, GraphPart Head)
{
    /// <summary>Tensors holding the image batch size read off an image tensor's shape (name → rank: 0 for a
    /// scalar, 1 for a one-element vector). They count as constants in the split: a traced HF export reshapes the text
    /// side's queries and <c>input_ids</c> by the feature map's batch (<c>max_text_queries = input_ids.shape[0] //
    /// batch_size</c>), which would otherwise make every query tensor depend on the image. A part that reads one without
    /// computing it (the text part) takes it as an input, to be resolved to 1 (<see cref="PartModels.ResolveImageBatch"/>):
    /// the engine scores every image against all queries, as the export does at batch 1.</summary>
    public IReadOnlyDictionary<string, int> ImageBatch { get; init; } = new Dictionary<string, int>();
}

/// <summary>
/// Splits an ONNX graph by data flow, not by node names, so exports written by any tool split alike: each node is
/// marked with the graph inputs it depends on; nodes reached from the image inputs alone form the image part, from
/// the text inputs alone the text part, from both the head. Nodes that depend on no input (constants, shape arithmetic
/// on constants) go into every part that uses them. A part's outputs are the tensors the head (or the graph's outputs)
/// read from it: for OWL, the image part ends at the boxes, the normalised class embeddings, shift and scale; the text
/// part at the query embeddings. Pure: reads the graph, changes nothing.
/// </summary>
public static class GraphPartition
{
    [Flags]
    private enum Source
    {
        None = 0,
        Image = 1,
        Text = 2,
    }

    public static Partition Split(GraphProto graph, IReadOnlySet<string> imageInputs, IReadOnlySet<string> textInputs)
    {
        var nodes = graph.Node;
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var tensorSource = new Dictionary<string, Source>(StringComparer.Ordinal);
        foreach (var input in graph.Input.Select(i => i.Name).Where(n => !initializers.Contains(n)))
        {
            tensorSource[input] = imageInputs.Contains(input) ? Source.Image : textInputs.Contains(input) ? Source.Text
                : throw new ArgumentException($"graph input '{input}' is neither an image nor a text input", nameof(graph));
        }
        var nodeSource = new Source[nodes.Count];
        var imageBatch = new Dictionary<string, int>(StringComparer.Ordinal);
        var shapeOf = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        var constants = ConstantValues(graph);
        for (var i = 0; i < nodes.Count; i++)
        {
            var source = Source.None;
            foreach (var name in Reads(nodes[i]))
            {
                source |= tensorSource.GetValueOrDefault(name);
            }
            nodeSource[i] = source;
            if (nodes[i].OpType == "Shape" && source == Source.Image)
            {
                shapeOf[nodes[i].Output[0]] = nodes[i];
            }
            var batchRank = source == Source.Image ? BatchRank(nodes[i], shapeOf, constants) : null;
            foreach (var output in nodes[i].Output.Where(o => o.Length > 0))
            {
                tensorSource[output] = batchRank is null ? source : Source.None;
            }
            if (batchRank is { } rank)
            {
                imageBatch[nodes[i].Output[0]] = rank;
            }
        }
        // Constant-only nodes join every part that reads them, directly or through other constant-only nodes.
        var consumers = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < nodes.Count; i++)
        {
            foreach (var name in Reads(nodes[i]))
            {
                (consumers.TryGetValue(name, out var list) ? list : consumers[name] = []).Add(i);
            }
        }
        var graphOutputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var parts = new HashSet<Source>[nodes.Count];
        for (var i = nodes.Count - 1; i >= 0; i--)
        {
            parts[i] = nodeSource[i] == Source.None
                ? nodes[i].Output.SelectMany(o => consumers.GetValueOrDefault(o) ?? []).SelectMany(c => parts[c]).ToHashSet()
                : [nodeSource[i]];
        }
        GraphPart Part(Source which)
        {
            var members = Enumerable.Range(0, nodes.Count).Where(i => parts[i].Contains(which)).ToArray();
            var produced = members.SelectMany(i => nodes[i].Output).Where(o => o.Length > 0).ToHashSet(StringComparer.Ordinal);
            // A constant-only node is copied into every part that reads it: its outputs are never handed on.
            var copied = members.Where(i => nodeSource[i] == Source.None).SelectMany(i => nodes[i].Output).ToHashSet(StringComparer.Ordinal);
            var reads = members.SelectMany(i => Reads(nodes[i])).Distinct(StringComparer.Ordinal).ToArray();
            var inputs = reads.Where(r => !produced.Contains(r) && !initializers.Contains(r)).ToArray();
            var used = reads.Where(initializers.Contains).ToArray();
            // Handed on: read by a node of another part, or a graph output.
            var outputs = produced.Where(t => !copied.Contains(t)).Where(t => graphOutputs.Contains(t)
                || (consumers.TryGetValue(t, out var readers) && readers.Any(r => !parts[r].Contains(which)))).Order(StringComparer.Ordinal).ToArray();
            return new GraphPart(members.Select(i => nodes[i]).ToArray(), inputs, outputs, used);
        }
        var image = Part(Source.Image);
        var text = Part(Source.Text);
        var head = Part(Source.Image | Source.Text);
        return new Partition(image, text, head) { ImageBatch = imageBatch };
    }

    /// <summary>The rank of the image batch size a node reads off an image tensor's Shape (Gather of index 0, Slice
    /// 0:1, or Shape with end 1), or null when the node is no such read.</summary>
    private static int? BatchRank(NodeProto node, Dictionary<string, NodeProto> shapeOf, Dictionary<string, long[]> constants)
    {
        long[]? Value(int input) => node.Input.Count > input && constants.TryGetValue(node.Input[input], out var v) ? v : null;
        switch (node.OpType)
        {
            case "Shape" when node.Attribute.Any(a => a.Name == "end" && a.I == 1) && node.Attribute.All(a => a.Name != "start" || a.I == 0):
                return 1;
            case "Gather" when shapeOf.ContainsKey(node.Input[0]) && node.Attribute.All(a => a.Name != "axis" || a.I == 0) && Value(1) is [0] && ShapeIsFull(shapeOf[node.Input[0]]):
                return constants.TryGetValue(node.Input[1] + "#rank", out var rank) ? (int)rank[0] : 0;
            case "Slice" when shapeOf.ContainsKey(node.Input[0]) && Value(1) is [0] && Value(2) is [1] && (node.Input.Count < 4 || Value(3) is [0]) && ShapeIsFull(shapeOf[node.Input[0]]):
                return 1;
            default:
                return null;
        }
    }

    private static bool ShapeIsFull(NodeProto shape) => shape.Attribute.All(a => a.Name is not ("start" or "end") || (a.Name == "start" && a.I == 0));

    /// <summary>Small int64 constants of the graph (initializers and Constant nodes) by name; each one's rank under
    /// "name#rank".</summary>
    private static Dictionary<string, long[]> ConstantValues(GraphProto graph)
    {
        var values = new Dictionary<string, long[]>(StringComparer.Ordinal);
        void Add(string name, TensorProto t)
        {
            if (t.DataType != (int)TensorProto.Types.DataType.Int64 || t.Dims.Aggregate(1L, (a, b) => a * b) > 8)
            {
                return;
            }
            values[name] = t.RawData.Length > 0
                ? Enumerable.Range(0, t.RawData.Length / 8).Select(i => System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(t.RawData.Span[(8 * i)..])).ToArray()
                : t.Int64Data.ToArray();
            values[name + "#rank"] = [t.Dims.Count];
        }
        foreach (var t in graph.Initializer)
        {
            Add(t.Name, t);
        }
        foreach (var node in graph.Node.Where(n => n.OpType == "Constant"))
        {
            if (node.Attribute.FirstOrDefault(a => a.Name == "value")?.T is { } t)
            {
                Add(node.Output[0], t);
            }
        }
        return values;
    }

    /// <summary>The tensors a node reads, those its subgraphs (If, Loop, Scan bodies) read from the outer graph included.</summary>
    public static IEnumerable<string> Reads(NodeProto node)
    {
        foreach (var input in node.Input.Where(i => i.Length > 0))
        {
            yield return input;
        }
        foreach (var attribute in node.Attribute)
        {
            foreach (var body in attribute.Graphs.Append(attribute.G).Where(g => g is not null))
            {
                var inner = body.Node.SelectMany(n => n.Output).Concat(body.Input.Select(i => i.Name)).Concat(body.Initializer.Select(i => i.Name))
                    .ToHashSet(StringComparer.Ordinal);
                foreach (var outer in body.Node.SelectMany(Reads).Where(r => !inner.Contains(r)).Distinct(StringComparer.Ordinal))
                {
                    yield return outer;
                }
            }
        }
    }
}
