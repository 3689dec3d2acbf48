using Onnx;
using Owlbox.Detection.Tests;
using Owlbox.ModelPreparation;

namespace Owlbox.ModelPreparation.Tests;

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

    private static NodeProto Constant(string name, long value, bool scalar)
    {
        var t = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64 };
        if (!scalar)
        {
            t.Dims.Add(1);
        }
        t.Int64Data.Add(value);
        var node = Node(name, "Constant", [], name + "_out");
        node.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = t });
        return node;
    }

    /// <summary>HF's forward: <c>max_text_queries = input_ids.shape[0] // batch_size</c> with the batch read off the
    /// feature map, then <c>query_embeds.reshape(batch_size, max_text_queries, D)</c> and the class head's second norm.</summary>
    private static GraphProto TracedReshape(string batchRead) => Graph(
    [
        Node("feat", "Relu", ["pixel_values"], "feature_map"),
        Node("fshape", "Shape", ["feature_map"], "fs"),
        Constant("zero", 0, scalar: batchRead == "Gather"),
        Constant("one", 1, scalar: false),
        batchRead == "Gather" ? Node("batch", "Gather", ["fs", "zero_out"], "bs") : Node("batch", "Slice", ["fs", "zero_out", "one_out"], "bs"),
        Node("embed", "Gather", ["W", "input_ids"], "q"),
        Node("ishape", "Shape", ["input_ids"], "is"),
        Node("rows", "Gather", ["is", "zero_out"], "rows"),
        Node("per_image", "Div", ["rows", "bs"], "mq"),
        Node("shape", "Concat", ["bs", "mq"], "qshape"),
        Node("reshape", "Reshape", ["q", "qshape"], "text_embeds"),
        Node("norm", "ReduceL2", ["text_embeds"], "qn"),
        Node("normed", "Div", ["text_embeds", "qn"], "qhat"),
        Node("product", "MatMul", ["feature_map", "qhat"], "logits"),
    ], ["logits", "text_embeds"], ["W"]);

    [Theory]
    [InlineData("Gather", 0)]
    [InlineData("Slice", 1)]
    public void TheImageBatch_ATracedExportReshapesTheQueriesBy_CountsAsAConstant_SoTheQueriesAreTextOnly(string batchRead, int rank)
    {
        var p = GraphPartition.Split(TracedReshape(batchRead), s_image, s_text);

        Assert.Equal(new Dictionary<string, int> { ["bs"] = rank }, p.ImageBatch);
        Assert.Equal(["product"], p.Head.Nodes.Select(n => n.Name));
        Assert.Contains("reshape", p.Text.Nodes.Select(n => n.Name));
        Assert.Contains("normed", p.Text.Nodes.Select(n => n.Name));
        Assert.Contains("bs", p.Text.Inputs); // read, not computed: resolved to 1 when the part becomes a model
        var resolved = PartModels.ResolveImageBatch(p.Text, p.ImageBatch);
        Assert.DoesNotContain("bs", resolved.Inputs);
        var one = Assert.Single(resolved.Nodes, n => n.Output.Contains("bs"));
        Assert.Equal((rank, 1L), (one.Attribute[0].T.Dims.Count, one.Attribute[0].T.Int64Data[0]));
        Assert.Contains("batch", p.Image.Nodes.Select(n => n.Name)); // the image side keeps reading its own batch
    }

    [Fact]
    public void NamesTheEngineGivesOtherTensors_AreFreedInThePart_WithoutChangingTheSource()
    {
        var graph = TracedReshape("Gather");
        foreach (var input in graph.Input)
        {
            input.Type = PartModels.Tensor(input.Name == "pixel_values" ? 1 : 7, input.Name == "pixel_values" ? 4 : 2);
        }
        var source = new ModelProto { Graph = graph };
        var p = GraphPartition.Split(graph, s_image, s_text);

        var model = PartModels.Build(source, PartModels.ResolveImageBatch(p.Text, p.ImageBatch), "text", null, [("qhat", "text_embeds")]);

        Assert.Equal(["text_embeds"], model.Graph.Output.Select(o => o.Name));
        Assert.Single(model.Graph.Node, n => n.Output.Contains("text_embeds")); // only the Identity of the queries
        Assert.Contains(model.Graph.Node, n => n.Name == "reshape" && n.Output[0] == "text_embeds_owlbox_inner");
        Assert.Contains(model.Graph.Node, n => n.Name == "normed" && n.Input[0] == "text_embeds_owlbox_inner");
        Assert.Contains(graph.Node, n => n.Name == "reshape" && n.Output[0] == "text_embeds"); // the source is untouched
    }

    [Fact]
    public void AHeadWithoutTheClassProduct_IsRefusedNamingTheNodeThatNeedsBoth()
    {
        var graph = Graph(
        [
            Node("image", "Relu", ["pixel_values"], "a"),
            Node("text", "Relu", ["input_ids"], "t"),
            Node("/head/Add", "Add", ["a", "t"], "logits"),
        ], ["logits"]);

        var e = Assert.Throws<Owlbox.Models.ModelException>(() => HeadRoleFinder.Find(GraphPartition.Split(graph, s_image, s_text)));

        Assert.Contains("the first node that needs both the image and the text is '/head/Add' (Add), reading 'a', 't'", e.Message, StringComparison.Ordinal);
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
        // HF reshapes the query embeddings by the image batch read off the pixels' shape: that batch counts as a constant
        // (resolved to 1 for the text part), so text_embeds is computed from the text alone.
        Assert.Equal(["logits"], p.Head.Outputs);
        Assert.Contains("text_embeds", p.Text.Outputs);
        Assert.NotEmpty(p.ImageBatch);
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
