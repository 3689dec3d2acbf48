using Onnx;
using Owlbox.Models.Onnx;

namespace Owlbox.Detection.Tests;

/// <summary>Splitting a graph by data flow: the image part is what the image inputs alone reach, the text part what
/// the text inputs alone reach, the head what needs both; constants go wherever they are used.</summary>
public class GraphPartitionTests
{
    private static readonly HashSet<string> s_image = ["pixel_values"];
    private static readonly HashSet<string> s_text = ["input_ids", "attention_mask"];

    private static NodeProto Node(string name, string op, string[] inputs, params string[] outputs)
    {
        var node = new NodeProto { Name = name, OpType = op };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    private static GraphProto Graph(NodeProto[] nodes, string[] outputs, string[]? initializers = null)
    {
        var graph = new GraphProto();
        graph.Input.AddRange(new[] { "pixel_values", "input_ids", "attention_mask" }.Select(n => new ValueInfoProto { Name = n }));
        graph.Initializer.AddRange((initializers ?? []).Select(n => new TensorProto { Name = n }));
        graph.Node.AddRange(nodes);
        graph.Output.AddRange(outputs.Select(n => new ValueInfoProto { Name = n }));
        return graph;
    }

    [Fact]
    public void ASmallGraph_SplitsIntoImageTextAndHead_WithConstantsWhereTheyAreUsed()
    {
        var graph = Graph(
        [
            Node("relu", "Relu", ["pixel_values"], "a"),
            Node("two", "Constant", [], "c"),
            Node("shifted", "Add", ["a", "c"], "a2"),
            Node("embed", "Gather", ["W", "input_ids"], "t"),
            Node("scaled", "Mul", ["t", "c"], "t2"),
            Node("mask", "Cast", ["attention_mask"], "m"),
            Node("logits", "MatMul", ["a2", "t2"], "l"),
            Node("masked", "Mul", ["l", "m"], "logits"),
            Node("boxes", "Sigmoid", ["a2"], "pred_boxes"),
            Node("unused", "Constant", [], "dead"),
        ], ["logits", "pred_boxes"], ["W"]);

        var p = GraphPartition.Split(graph, s_image, s_text);

        Assert.Equal(["relu", "two", "shifted", "boxes"], p.Image.Nodes.Select(n => n.Name));
        Assert.Equal(["two", "embed", "scaled", "mask"], p.Text.Nodes.Select(n => n.Name));
        Assert.Equal(["logits", "masked"], p.Head.Nodes.Select(n => n.Name));
        Assert.Equal(["a2", "pred_boxes"], p.Image.Outputs);
        Assert.Equal(["m", "t2"], p.Text.Outputs);
        Assert.Equal(["a2", "t2", "m"], p.Head.Inputs);
        Assert.Equal(["logits"], p.Head.Outputs);
        Assert.Equal(["W"], p.Text.Initializers);
        Assert.Empty(p.Image.Initializers);
    }

    [Fact]
    public void ANodesSubgraph_ReadingAnOuterTensor_DependsOnIt()
    {
        var body = new GraphProto();
        body.Node.Add(Node("inner", "Identity", ["t"], "inner_out"));
        body.Output.Add(new ValueInfoProto { Name = "inner_out" });
        var branch = Node("if", "If", ["cond"], "chosen");
        branch.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = body });
        var graph = Graph(
        [
            Node("embed", "Gather", ["W", "input_ids"], "t"),
            Node("cond", "Constant", [], "cond"),
            branch,
            Node("use", "Add", ["pixel_values", "chosen"], "logits"),
        ], ["logits"], ["W"]);

        var p = GraphPartition.Split(graph, s_image, s_text);

        Assert.Contains("if", p.Text.Nodes.Select(n => n.Name)); // it reads t, a text tensor, from inside its branch
        Assert.Equal(["use"], p.Head.Nodes.Select(n => n.Name));
    }

    [Fact]
    public void AHeadComputedInInt8_IsRefusedWithTheWayToPrepareIt()
    {
        var graph = Graph(
        [
            Node("image", "Relu", ["pixel_values"], "a"),
            Node("text", "Relu", ["input_ids"], "t"),
            Node("qa", "DynamicQuantizeLinear", ["a"], "qa", "sa", "za"),
            Node("product", "MatMulInteger", ["qa", "t"], "logits"),
        ], ["logits"]);

        var e = Assert.Throws<Owlbox.Models.ModelException>(() => HeadRoleFinder.Find(GraphPartition.Split(graph, s_image, s_text)));

        Assert.Contains("class head is quantized (MatMulInteger): prepare the fp32 export", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("owlvit-test")]
    [InlineData("owlv2-test")]
    public void APublishedLayoutSingleGraph_SplitsWithTheBoxesOnTheImageSide_AndASmallHead(string model)
    {
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(TestSupport.ModelDir(model), "onnx", "model.onnx"))).Graph;

        var p = GraphPartition.Split(graph, s_image, s_text);

        Assert.Contains("pred_boxes", p.Image.Outputs);
        Assert.Contains("image_embeds", p.Image.Outputs);
        Assert.NotEmpty(p.Text.Outputs);
        // HF reshapes the query embeddings by the image batch: text_embeds (an output nobody labels with) needs both.
        Assert.Equal(["logits", "text_embeds"], p.Head.Outputs.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(p.Image.Inputs, i => s_text.Contains(i));
        Assert.DoesNotContain(p.Text.Inputs, i => s_image.Contains(i));
        Assert.True(p.Head.Nodes.Count * 10 < graph.Node.Count, $"head {p.Head.Nodes.Count} of {graph.Node.Count} nodes: the class head is small");
        // Every node is in some part; constant-only nodes may be in two.
        var placed = p.Image.Nodes.Concat(p.Text.Nodes).Concat(p.Head.Nodes).ToHashSet();
        Assert.DoesNotContain(graph.Node, n => !placed.Contains(n) && n.Output.Any(o => o.Length > 0 && IsUsed(graph, o)));
    }

    private static bool IsUsed(GraphProto graph, string tensor) =>
        graph.Output.Any(o => o.Name == tensor) || graph.Node.Any(n => GraphPartition.Reads(n).Contains(tensor));
}
