using System.Runtime.InteropServices;
using Onnx;

namespace Owlbox.ModelPreparation;

/// <summary>
/// Rewrites each self-attention of a transformer graph as ONNX Runtime's fused <c>com.microsoft.MultiHeadAttention</c>
/// (what its transformer optimizer writes for ViT exports: one kernel per layer, flash or memory-efficient attention on
/// a GPU, no [heads, tokens, tokens] tensor in memory). Found by what the nodes compute, not by their names: a Softmax
/// over the last axis whose input is the MatMul of the query heads and the transposed key heads (scaled by constants
/// anywhere on the way) and whose output is multiplied by the value heads, then merged back to [B, T, D]; each head
/// tensor a Reshape of a [B, T, D] projection to [B, T, H, Dh] and Transposes. A masked attention (an Add before the
/// Softmax) or any other shape is left as it is. The caller checks the result against the original.
/// </summary>
public static class AttentionFuser
{
    public const string MicrosoftDomain = "com.microsoft";

    /// <returns>How many attentions were fused.</returns>
    public static int Apply(ModelProto model)
    {
        var g = model.Graph;
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var n in g.Node)
        {
            foreach (var o in n.Output)
            {
                producers[o] = n;
            }
        }
        var readers = g.Node.SelectMany(n => GraphPartition.Reads(n).Select(r => (r, n))).ToLookup(p => p.r, p => p.n, StringComparer.Ordinal);
        var constants = new Constants(g, producers);
        var fused = new List<(NodeProto Replaces, NodeProto With)>();
        foreach (var softmax in g.Node.Where(n => n.OpType == "Softmax"))
        {
            if (Match(softmax, producers, readers, constants) is { } m)
            {
                var node = new NodeProto { Name = $"owlbox_mha_{fused.Count}", OpType = "MultiHeadAttention", Domain = MicrosoftDomain };
                node.Input.AddRange([m.Query, m.Key, m.Value]);
                node.Output.Add(m.Merged.Output[0]);
                node.Attribute.Add(new AttributeProto { Name = "num_heads", Type = AttributeProto.Types.AttributeType.Int, I = m.Heads });
                node.Attribute.Add(new AttributeProto { Name = "scale", Type = AttributeProto.Types.AttributeType.Float, F = m.Scale });
                fused.Add((m.Merged, node));
            }
        }
        if (fused.Count == 0)
        {
            return 0;
        }
        var replace = fused.ToDictionary(f => f.Replaces, f => f.With);
        var nodes = g.Node.Select(n => replace.GetValueOrDefault(n, n)).ToList();
        g.Node.Clear();
        g.Node.AddRange(RemoveUnread(nodes, g.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal)));
        // The scale constants the attributes took over are read by nothing now.
        var read = g.Node.SelectMany(GraphPartition.Reads).ToHashSet(StringComparer.Ordinal);
        var kept = g.Initializer.Where(i => read.Contains(i.Name) || g.Output.Any(o => o.Name == i.Name)).ToList();
        g.Initializer.Clear();
        g.Initializer.AddRange(kept);
        if (!model.OpsetImport.Any(o => o.Domain == MicrosoftDomain))
        {
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        }
        return fused.Count;
    }

    private sealed record Attention(string Query, string Key, string Value, int Heads, float Scale, NodeProto Merged);

    private static Attention? Match(NodeProto softmax, Dictionary<string, NodeProto> producers, ILookup<string, NodeProto> readers, Constants constants)
    {
        if (softmax.Attribute.FirstOrDefault(a => a.Name == "axis") is { } axis && axis.I is not (-1 or 3))
        {
            return null;
        }
        // Scores: MatMul(q heads, k heads transposed), maybe times constants.
        var (scores, scoreScale) = SkipScales(softmax.Input[0], producers, constants);
        if (!producers.TryGetValue(scores, out var qk) || qk.OpType != "MatMul")
        {
            return null; // an Add of a mask, or something else
        }
        // Output: MatMul(softmax, v heads) → Transpose [0,2,1,3] → Reshape to [B, T, D].
        if (readers[softmax.Output[0]].ToList() is not [{ OpType: "MatMul" } av] || av.Input[0] != softmax.Output[0]
            || readers[av.Output[0]].ToList() is not [{ OpType: "Transpose" } back] || !Perm(back).SequenceEqual([0, 2, 1, 3])
            || readers[back.Output[0]].ToList() is not [{ OpType: "Reshape" } merged])
        {
            return null;
        }
        if (Heads(qk.Input[0], [0, 2, 1, 3], producers, constants) is not { } q
            || Heads(qk.Input[1], [0, 2, 3, 1], producers, constants) is not { } k
            || Heads(av.Input[1], [0, 2, 1, 3], producers, constants) is not { } v
            || q.Heads != k.Heads || k.Heads != v.Heads || v.Scale != 1f)
        {
            return null;
        }
        return new Attention(q.Projection, k.Projection, v.Projection, q.Heads, scoreScale * q.Scale * k.Scale, merged);
    }

    /// <summary>A head tensor: Transposes (composing to <paramref name="layout"/> of [B, T, H, Dh]) of a Reshape of a
    /// [B, T, D] projection to [B, T, H, Dh], constant scales anywhere on the way.</summary>
    private static (string Projection, int Heads, float Scale)? Heads(string tensor, int[] layout, Dictionary<string, NodeProto> producers, Constants constants)
    {
        var scale = 1f;
        var perm = new[] { 0, 1, 2, 3 }; // what the current tensor's axes are, as axes of the reshape's output
        var steps = new List<int[]>();
        while (true)
        {
            (tensor, var s) = SkipScales(tensor, producers, constants);
            scale *= s;
            if (!producers.TryGetValue(tensor, out var node))
            {
                return null;
            }
            if (node.OpType == "Transpose")
            {
                steps.Add(Perm(node));
                tensor = node.Input[0];
                continue;
            }
            if (node.OpType != "Reshape" || constants.Longs(node.Input[1]) is not { Length: 4 } shape || shape[2] <= 0 || shape[3] <= 0)
            {
                return null;
            }
            steps.Reverse();
            foreach (var p in steps)
            {
                perm = [.. p.Select(i => perm[i])];
            }
            if (!perm.SequenceEqual(layout))
            {
                return null;
            }
            // Before the reshape: the projection, maybe scaled once more.
            var (projection, before) = SkipScales(node.Input[0], producers, constants);
            return (projection, (int)shape[2], scale * before);
        }
    }

    /// <summary>Follows Mul/Div by a scalar constant back from <paramref name="tensor"/>: the tensor before them and the product.</summary>
    private static (string Tensor, float Scale) SkipScales(string tensor, Dictionary<string, NodeProto> producers, Constants constants)
    {
        var scale = 1f;
        while (producers.TryGetValue(tensor, out var node) && node.OpType is "Mul" or "Div")
        {
            if (constants.Scalar(node.Input[1]) is { } right)
            {
                scale *= node.OpType == "Mul" ? right : 1 / right;
                tensor = node.Input[0];
            }
            else if (node.OpType == "Mul" && constants.Scalar(node.Input[0]) is { } left)
            {
                scale *= left;
                tensor = node.Input[1];
            }
            else
            {
                break;
            }
        }
        return (tensor, scale);
    }

    private static int[] Perm(NodeProto transpose) =>
        transpose.Attribute.FirstOrDefault(a => a.Name == "perm") is { } p ? [.. p.Ints.Select(i => (int)i)] : [3, 2, 1, 0];

    /// <summary>Drops nodes none of whose outputs is read (the fused attentions' old insides), repeatedly.</summary>
    private static List<NodeProto> RemoveUnread(List<NodeProto> nodes, HashSet<string> graphOutputs)
    {
        while (true)
        {
            var read = nodes.SelectMany(GraphPartition.Reads).ToHashSet(StringComparer.Ordinal);
            var kept = nodes.Where(n => n.Output.Any(o => read.Contains(o) || graphOutputs.Contains(o))).ToList();
            if (kept.Count == nodes.Count)
            {
                return kept;
            }
            nodes = kept;
        }
    }

    /// <summary>Values of initializers and Constant nodes.</summary>
    private sealed class Constants(GraphProto graph, Dictionary<string, NodeProto> producers)
    {
        private readonly Dictionary<string, TensorProto> _initializers = graph.Initializer.GroupBy(i => i.Name, StringComparer.Ordinal).ToDictionary(x => x.Key, x => x.First(), StringComparer.Ordinal);

        private TensorProto? Tensor(string name) =>
            _initializers.TryGetValue(name, out var t) ? t
            : producers.TryGetValue(name, out var n) && n.OpType == "Constant" ? n.Attribute.FirstOrDefault(a => a.Name == "value")?.T
            : null;

        public float? Scalar(string name)
        {
            if (Tensor(name) is not { DataType: (int)TensorProto.Types.DataType.Float } t || t.Dims.Aggregate(1L, (a, b) => a * b) != 1)
            {
                return null;
            }
            return t.RawData.Length == 4 ? MemoryMarshal.Read<float>(t.RawData.Span) : t.FloatData.Count == 1 ? t.FloatData[0] : null;
        }

        /// <summary>An int64 constant; or a Concat of one-value pieces (a shape built from the input's own
        /// dimensions, as exporters write <c>view(b, -1, heads, head_dim)</c>), whose non-constant pieces read -1.</summary>
        public long[]? Longs(string name)
        {
            if (Tensor(name) is { DataType: (int)TensorProto.Types.DataType.Int64 } t)
            {
                return t.RawData.Length > 0 ? MemoryMarshal.Cast<byte, long>(t.RawData.Span).ToArray() : [.. t.Int64Data];
            }
            if (!producers.TryGetValue(name, out var concat) || concat.OpType != "Concat")
            {
                return null;
            }
            var values = new List<long>();
            foreach (var piece in concat.Input)
            {
                if (Tensor(piece) is { DataType: (int)TensorProto.Types.DataType.Int64 } c)
                {
                    values.AddRange(c.RawData.Length > 0 ? MemoryMarshal.Cast<byte, long>(c.RawData.Span).ToArray() : c.Int64Data);
                }
                else
                {
                    values.Add(-1);
                }
            }
            return [.. values];
        }
    }
}
