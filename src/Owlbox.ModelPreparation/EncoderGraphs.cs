using Onnx;

namespace Owlbox.ModelPreparation;

/// <summary>The two encoders cut out of a single graph, as the engine reads them: the image encoder (pixels → boxes,
/// class embeddings, logit shift and scale, and objectness where the export has it; batch dynamic) and the text encoder
/// (query tokens → query embeddings). The class head between them stays with the engine.</summary>
internal static class EncoderGraphs
{
    /// <returns>The image encoder and how many of its batch bakes were rewritten to follow the batch.</returns>
    public static (ModelProto Graph, int ReshapesMadeDynamic) Image(ModelProto source, Partition parts, HeadRoles roles)
    {
        // OWLv2's objectness per patch, where the export outputs it, is kept beside the boxes (query-agnostic: it ranks
        // patches without a prompt).
        var objectness = parts.Image.Outputs.Contains(ModelPreparer.ObjectnessOutput) ? new[] { (ModelPreparer.ObjectnessOutput, ModelPreparer.ObjectnessOutput) } : [];
        var image = PartModels.Build(source, parts.Image, "image_encoder", null,
            [(roles.Boxes, "pred_boxes"), (roles.ClassEmbeddings, "class_embeds"), .. objectness,
             .. roles.ShiftIsConstant ? [] : new[] { (roles.Shift, "logit_shift") }, .. roles.ScaleIsConstant ? [] : new[] { (roles.Scale, "logit_scale") }]);
        BroadcastConstant(source, image, roles.ShiftIsConstant ? roles.Shift : null, "logit_shift");
        BroadcastConstant(source, image, roles.ScaleIsConstant ? roles.Scale : null, "logit_scale");
        return (image, ImageBatchRewriter.MakeBatchDynamic(image));
    }

    public static ModelProto Text(ModelProto source, Partition parts, HeadRoles roles)
    {
        // The text side resolves a batch size it reads off the image to 1 (a traced export reshapes the queries by it).
        var text = PartModels.Build(source, PartModels.ResolveImageBatch(parts.Text, parts.ImageBatch), "text_encoder", null, [(roles.QueryEmbeddings, "text_embeds")]);
        foreach (var input in source.Graph.Input.Where(i => i.Name is "input_ids" or "attention_mask" && !text.Graph.Input.Any(t => t.Name == i.Name)))
        {
            text.Graph.Input.Add(input); // the engine feeds both; a graph that ignores the mask still accepts it
        }
        return text;
    }

    /// <summary>A per-patch output [B, N, 1] holding a constant the export's head applies to every patch (the test
    /// models' shift and scale): Expand of the constant to the class embeddings' first two dimensions.</summary>
    private static void BroadcastConstant(ModelProto source, ModelProto image, string? constant, string output)
    {
        if (constant is null)
        {
            return;
        }
        var g = image.Graph;
        if (source.Graph.Initializer.FirstOrDefault(i => i.Name == constant) is { } initializer)
        {
            g.Initializer.Add(initializer);
        }
        else
        {
            g.Node.Add(source.Graph.Node.First(n => n.OpType == "Constant" && n.Output.Contains(constant)));
        }
        TensorProto Longs(string name, params long[] values)
        {
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
            t.Dims.Add(values.Length);
            t.Int64Data.AddRange(values);
            return t;
        }
        var prefix = "owlbox_" + output;
        g.Initializer.Add(Longs(prefix + "_start", 0));
        g.Initializer.Add(Longs(prefix + "_end", 2));
        g.Initializer.Add(Longs(prefix + "_one", 1));
        NodeProto Node(string op, string name, string[] inputs, string result)
        {
            var node = new NodeProto { Name = prefix + "_" + name, OpType = op };
            node.Input.AddRange(inputs);
            node.Output.Add(result);
            return node;
        }
        g.Node.Add(Node("Shape", "shape", ["class_embeds"], prefix + "_shape"));
        g.Node.Add(Node("Slice", "bn", [prefix + "_shape", prefix + "_start", prefix + "_end"], prefix + "_bn"));
        var concat = Node("Concat", "bn1", [prefix + "_bn", prefix + "_one"], prefix + "_bn1");
        concat.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 0 });
        g.Node.Add(concat);
        g.Node.Add(Node("Expand", "expand", [constant, prefix + "_bn1"], output));
        g.Output.Add(new ValueInfoProto { Name = output });
    }
}
