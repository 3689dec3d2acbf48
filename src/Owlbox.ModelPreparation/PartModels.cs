using Onnx;
using Owlbox.Models;

namespace Owlbox.ModelPreparation;

/// <summary>
/// A <see cref="GraphPart"/> as a model of its own: the part's nodes, the initializers they read (shared with the
/// source, not copied: a published export's weights are hundreds of megabytes), the source's opsets and IR version.
/// Inputs that are the source graph's keep their declared types; an input that was an inner tensor takes the type
/// given for it (<c>innerTypes</c>: what ONNX Runtime reports for the part that produces it). Outputs
/// the source declares keep their types; the others are left for ONNX Runtime to infer.
/// </summary>
public static class PartModels
{
    public static ModelProto Build(ModelProto source, GraphPart part, string name, IReadOnlyDictionary<string, TypeProto>? innerTypes = null) =>
        Build(source, part, name, innerTypes, renames: null);

    /// <param name="renames">Outputs to keep, each under the name the engine reads (inner name → published name);
    /// the nodes no kept output needs are left out.</param>
    public static ModelProto Build(ModelProto source, GraphPart part, string name, IReadOnlyDictionary<string, TypeProto>? innerTypes,
        IReadOnlyList<(string Inner, string Published)>? renames)
    {
        var declared = source.Graph.Input.Concat(source.Graph.Output).Concat(source.Graph.ValueInfo)
            .GroupBy(v => v.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        if (renames is not null)
        {
            part = Prune(part, renames.Select(r => r.Inner).ToArray());
            part = FreeNames(part, renames.Where(r => r.Inner != r.Published).Select(r => r.Published).ToHashSet(StringComparer.Ordinal));
            var identities = renames.Where(r => r.Inner != r.Published).Select(r =>
            {
                var node = new NodeProto { Name = "owlbox_" + r.Published, OpType = "Identity" };
                node.Input.Add(r.Inner);
                node.Output.Add(r.Published);
                return node;
            });
            part = part with { Nodes = [.. part.Nodes, .. identities], Outputs = renames.Select(r => r.Published).ToArray() };
            // A published name given to another tensor (text_embeds is the export's [B, Q, D] output, here [Q, D]) must not
            // take the export's declaration: its type is left to inference.
            foreach (var r in renames.Where(r => r.Inner != r.Published))
            {
                declared.Remove(r.Published);
            }
        }
        var initializers = part.Initializers.ToHashSet(StringComparer.Ordinal);
        var graph = new GraphProto { Name = name };
        graph.Node.AddRange(part.Nodes);
        graph.Initializer.AddRange(source.Graph.Initializer.Where(i => initializers.Contains(i.Name)));
        foreach (var input in part.Inputs)
        {
            graph.Input.Add(declared.TryGetValue(input, out var known) && known.Type is not null ? known
                : innerTypes is not null && innerTypes.TryGetValue(input, out var type) ? new ValueInfoProto { Name = input, Type = type }
                : throw new ArgumentException($"no type for '{input}', an input of the {name} part: give the type its producer has", nameof(innerTypes)));
        }
        foreach (var output in part.Outputs)
        {
            graph.Output.Add(declared.TryGetValue(output, out var known) && source.Graph.Output.Contains(known) ? known : new ValueInfoProto { Name = output });
        }
        var model = new ModelProto { IrVersion = source.IrVersion, ProducerName = "owlbox models prepare", Graph = graph };
        model.OpsetImport.AddRange(source.OpsetImport);
        return model;
    }

    /// <summary>
    /// The part with tensors that bear a name the engine's outputs take renamed (<c>name_owlbox_inner</c>, everywhere the
    /// part writes or reads them): a traced export names its own <c>text_embeds</c> output [B, Q, D], which the head
    /// normalises again, and may name a class head tensor <c>class_embeds</c>, while the prepared encoder gives those
    /// names to other tensors. Nodes are copied before they change; the source graph stays as it was.
    /// </summary>
    public static GraphPart FreeNames(GraphPart part, IReadOnlySet<string> names)
    {
        var taken = part.Nodes.SelectMany(n => n.Output).Concat(part.Inputs).Concat(part.Initializers).Where(names.Contains).ToHashSet(StringComparer.Ordinal);
        if (taken.Count == 0)
        {
            return part;
        }
        var used = part.Nodes.SelectMany(n => n.Output.Concat(n.Input)).Concat(part.Inputs).Concat(part.Initializers).ToHashSet(StringComparer.Ordinal);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in taken)
        {
            if (part.Inputs.Contains(name) || part.Initializers.Contains(name))
            {
                throw new ModelException($"the graph reads '{name}' as an input or weight of the part the engine takes it from as an output: rename it in the export");
            }
            var fresh = name + "_owlbox_inner";
            while (used.Contains(fresh))
            {
                fresh += "_";
            }
            map[name] = fresh;
        }
        string Map(string n) => map.GetValueOrDefault(n, n);
        var nodes = part.Nodes.Select(n =>
        {
            if (!n.Input.Concat(n.Output).Any(map.ContainsKey))
            {
                return n;
            }
            var copy = n.Clone();
            for (var i = 0; i < copy.Input.Count; i++)
            {
                copy.Input[i] = Map(copy.Input[i]);
            }
            for (var i = 0; i < copy.Output.Count; i++)
            {
                copy.Output[i] = Map(copy.Output[i]);
            }
            return copy;
        }).ToArray();
        return part with { Nodes = nodes, Outputs = part.Outputs.Select(Map).ToArray() };
    }

    /// <summary>The part with the image batch sizes it reads but does not compute (<see cref="Partition.ImageBatch"/>)
    /// given as Constant nodes of 1: the text part of a traced export, whose query reshape reads the feature map's batch.</summary>
    public static GraphPart ResolveImageBatch(GraphPart part, IReadOnlyDictionary<string, int> imageBatch)
    {
        var resolved = part.Inputs.Where(imageBatch.ContainsKey).ToArray();
        if (resolved.Length == 0)
        {
            return part;
        }
        var constants = resolved.Select(name =>
        {
            var value = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64 };
            if (imageBatch[name] == 1)
            {
                value.Dims.Add(1);
            }
            value.Int64Data.Add(1);
            var node = new NodeProto { Name = "owlbox_batch_" + name, OpType = "Constant" };
            node.Output.Add(name);
            node.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = value });
            return node;
        });
        return part with { Nodes = [.. constants, .. part.Nodes], Inputs = part.Inputs.Where(i => !imageBatch.ContainsKey(i)).ToArray() };
    }

    /// <summary>The part cut down to what <paramref name="outputs"/> need.</summary>
    public static GraphPart Prune(GraphPart part, IReadOnlyList<string> outputs)
    {
        var needed = outputs.ToHashSet(StringComparer.Ordinal);
        var kept = new List<NodeProto>();
        foreach (var node in part.Nodes.Reverse())
        {
            if (node.Output.Any(needed.Contains))
            {
                kept.Add(node);
                needed.UnionWith(GraphPartition.Reads(node));
            }
        }
        kept.Reverse();
        return new GraphPart(kept, part.Inputs.Where(needed.Contains).ToArray(), outputs, part.Initializers.Where(needed.Contains).ToArray());
    }

    /// <summary>An ONNX tensor type of the given element type and rank, every dimension unnamed.</summary>
    public static TypeProto Tensor(int elementType, int rank)
    {
        var shape = new TensorShapeProto();
        for (var i = 0; i < rank; i++)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension());
        }
        return new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elementType, Shape = shape } };
    }
}
