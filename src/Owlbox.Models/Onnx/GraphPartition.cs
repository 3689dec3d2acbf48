using Onnx;

namespace Owlbox.Models.Onnx;

/// <summary>One part of a split graph: its nodes in the graph's (topological) order, the tensors it reads from outside
/// (graph inputs or another part's outputs; initializers it uses are <see cref="Initializers"/>), and the tensors it
/// hands on (to the head, or as graph outputs).</summary>
public sealed record GraphPart(IReadOnlyList<NodeProto> Nodes, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs, IReadOnlyList<string> Initializers);

/// <summary>The three parts of an OWL graph: what depends on the image inputs only, what on the text inputs only, and
/// the head that combines them.</summary>
public sealed record Partition(GraphPart Image, GraphPart Text, GraphPart Head);

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
        for (var i = 0; i < nodes.Count; i++)
        {
            var source = Source.None;
            foreach (var name in Reads(nodes[i]))
            {
                source |= tensorSource.GetValueOrDefault(name);
            }
            nodeSource[i] = source;
            foreach (var output in nodes[i].Output.Where(o => o.Length > 0))
            {
                tensorSource[output] = source;
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
        return new Partition(image, text, head);
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
