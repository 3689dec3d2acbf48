using Onnx;
using Owlbox.Models;

namespace Owlbox.ModelPreparation;

/// <summary>Which tensors the OWL class head reads, by role: logits = (class_embeds · query_embeds + shift) × scale.
/// A shift or scale the export holds as a constant (one value for every patch) is flagged: the prepared image encoder
/// broadcasts it to every patch, as the engine's class head reads one per patch.</summary>
public sealed record HeadRoles(string ClassEmbeddings, string Shift, string Scale, string QueryEmbeddings, string Boxes)
{
    public bool ShiftIsConstant { get; init; }
    public bool ScaleIsConstant { get; init; }
}

/// <summary>
/// Finds the class head's operands in a split graph by what the head does with them, not by their names: the MatMul
/// (or Einsum) of an image tensor and a text tensor (through reshapes and transposes) gives the class and query
/// embeddings; the Add of an image tensor to its result the shift; the Mul by an image tensor the scale.
/// </summary>
public static class HeadRoleFinder
{
    private static readonly HashSet<string> s_passThrough = ["Reshape", "Transpose", "Unsqueeze", "Squeeze", "Identity", "Cast", "Expand"];

    public static HeadRoles Find(Partition parts, string boxesOutput = "pred_boxes")
    {
        // What each side computes, and who computes every tensor (constant nodes may stand in two parts: same node).
        static HashSet<string> Computed(GraphPart part) =>
            part.Nodes.Where(n => n.OpType != "Constant" && n.Input.Count > 0).SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
        var imageOut = Computed(parts.Image);
        var textOut = Computed(parts.Text);
        var producer = parts.Image.Nodes.Concat(parts.Text.Nodes).Concat(parts.Head.Nodes).SelectMany(n => n.Output.Select(o => (o, n)))
            .GroupBy(x => x.o, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().n, StringComparer.Ordinal);
        // Back through reshapes and transposes, in the head and in the side itself, to the tensor the side computed:
        // the engine reads class embeddings [N, D] and query embeddings [Q, D] as computed, before any re-layout.
        string? Origin(string tensor, HashSet<string> side)
        {
            while (producer.TryGetValue(tensor, out var node) && s_passThrough.Contains(node.OpType))
            {
                tensor = node.Input[0];
            }
            return side.Contains(tensor) ? tensor : null;
        }
        if (parts.Head.Nodes.FirstOrDefault(n => n.OpType is "MatMulInteger" or "QLinearMatMul" or "DynamicQuantizeLinear") is { } quantized)
        {
            // The engine's class head is float: a head computed in int8 cannot be matched within tolerance.
            throw new ModelException($"the graph's class head is quantized ({quantized.OpType}): prepare the fp32 export (onnx/model.onnx); the int8 form comes from quantizing the prepared encoders, not from splitting a quantized graph");
        }
        var product = parts.Head.Nodes.FirstOrDefault(n => n.OpType is "MatMul" or "Einsum" && n.Input.Count == 2
            && n.Input.Any(i => Origin(i, imageOut) is not null) && n.Input.Any(i => Origin(i, textOut) is not null))
            ?? throw new ModelException($"the graph's head has no product of an image tensor and a text tensor: not an OWL class head{FirstMixing(parts)}");
        var classEmbeddings = product.Input.Select(i => Origin(i, imageOut)).First(o => o is not null)!;
        var queries = product.Input.Select(i => Origin(i, textOut)).First(o => o is not null)!;
        var constants = parts.Head.Initializers.Concat(parts.Head.Nodes.Where(n => n.OpType == "Constant").SelectMany(n => n.Output))
            .ToHashSet(StringComparer.Ordinal);
        (string Tensor, bool Constant) Operand(string op)
        {
            var node = parts.Head.Nodes.SkipWhile(n => n != product)
                .FirstOrDefault(n => n.OpType == op && n.Input.Any(i => Origin(i, imageOut) is not null || constants.Contains(i)))
                ?? throw new ModelException($"the graph's head has no {op} of an image tensor or a constant after the class product '{product.Name}' ({product.OpType}): not an OWL class head");
            return node.Input.Select(i => Origin(i, imageOut)).FirstOrDefault(o => o is not null) is { } fromImage
                ? (fromImage, false)
                : (node.Input.First(constants.Contains), true);
        }
        var (shift, shiftConstant) = Operand("Add");
        var (scale, scaleConstant) = Operand("Mul");
        if (!parts.Image.Outputs.Contains(boxesOutput))
        {
            throw new ModelException($"'{boxesOutput}' is not computed from the image alone in this graph");
        }
        return new HeadRoles(classEmbeddings, shift, scale, queries, boxesOutput) { ShiftIsConstant = shiftConstant, ScaleIsConstant = scaleConstant };
    }

    /// <summary>Where the split stops: the first head node that reads what the image side and the text side computed.</summary>
    private static string FirstMixing(Partition parts)
    {
        var image = parts.Image.Outputs.ToHashSet(StringComparer.Ordinal);
        var text = parts.Text.Outputs.ToHashSet(StringComparer.Ordinal);
        var node = parts.Head.Nodes.FirstOrDefault(n => n.Input.Any(image.Contains) && n.Input.Any(text.Contains)) ?? (parts.Head.Nodes.Count > 0 ? parts.Head.Nodes[0] : null);
        return node is null ? "" : $" (the first node that needs both the image and the text is '{node.Name}' ({node.OpType}), reading {string.Join(", ", node.Input.Where(i => i.Length > 0).Select(i => $"'{i}'"))})";
    }
}
