using Microsoft.ML.OnnxRuntime;
using Owlbox.Detection.Inference;
using Owlbox.Models;
using Owlbox.Models.Text;

namespace Owlbox.ModelPreparation;

/// <summary>The numeric checks a prepared form passes before it is put in place, run in ONNX Runtime from the written
/// files on fixed random inputs: the fp32 encoders against the single graph (a batch of two against one image at a
/// time), the int8 encoders' logits correlated with fp32's, the fp16 encoders' scores and boxes against fp32's.</summary>
internal static class PreparedFormCheck
{
    public static (double Logits, double Boxes) Verify(OwlModel model, string singlePath, string imageModel, string textModel)
    {
        using var options = new SessionOptions { IntraOpNumThreads = Environment.ProcessorCount };
        InferenceSession Open(Func<InferenceSession> open, string what)
        {
            try
            {
                return open();
            }
            catch (OnnxRuntimeException e)
            {
                throw new ModelException($"the prepared {what} does not load in ONNX Runtime ({e.Message}); nothing was written", e);
            }
        }
        using var single = Open(() => new InferenceSession(singlePath, options), "single graph");
        using var image = Open(() => new InferenceSession(imageModel, options), "image encoder");
        using var text = Open(() => new InferenceSession(textModel, options), "text encoder");
        var s = model.ImageSize;
        var (pixels, tokens) = CheckInputs(model, images: 2);
        using var idv = OrtValue.CreateTensorValueFromMemory(tokens.InputIds, [tokens.Count, tokens.Length]);
        using var mv = OrtValue.CreateTensorValueFromMemory(tokens.AttentionMask, [tokens.Count, tokens.Length]);
        using var both = OrtValue.CreateTensorValueFromMemory(pixels, [2, 3, s, s]);
        using var encoded2 = Run(image, ["pixel_values"], [both], ["pred_boxes", "class_embeds", "logit_shift", "logit_scale"], "image encoder");
        using var queryOut = Run(text, ["input_ids", "attention_mask"], [idv, mv], ["text_embeds"], "text encoder");
        var boxes = encoded2[0].GetTensorDataAsSpan<float>().ToArray();
        var features = new ImageFeatures(encoded2[1].GetTensorDataAsSpan<float>().ToArray(), encoded2[2].GetTensorDataAsSpan<float>().ToArray(),
            encoded2[3].GetTensorDataAsSpan<float>().ToArray(), 0);
        features = features with { Dimension = features.ClassEmbeddings.Length / features.Shift.Length };
        var queryEmbeddings = queryOut[0].GetTensorDataAsSpan<float>().ToArray();
        var patches = features.Shift.Length / 2;
        var logits = new float[2 * patches * tokens.Count];
        ClassHead.Logits(features, queryEmbeddings, tokens.Count, new bool[tokens.Count], logits);
        var (logitDiff, boxDiff) = (0.0, 0.0);
        for (var b = 0; b < 2; b++)
        {
            using var one = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, pixels.AsMemory(b * 3 * s * s, 3 * s * s), [1, 3, s, s]);
            using var expected = Run(single, ["pixel_values", "input_ids", "attention_mask"], [one, idv, mv], ["logits", "pred_boxes"], "single graph");
            var want = expected[0].GetTensorDataAsSpan<float>();
            var wantBoxes = expected[1].GetTensorDataAsSpan<float>();
            if (want.Length != patches * tokens.Count || wantBoxes.Length != patches * 4)
            {
                throw new ModelException($"the prepared form gives {patches} patches per image, the single graph {want.Length / tokens.Count}; nothing was written");
            }
            for (var i = 0; i < want.Length; i++)
            {
                logitDiff = Math.Max(logitDiff, Math.Abs(want[i] - logits[b * want.Length + i]) / (1 + Math.Abs(want[i])));
            }
            for (var i = 0; i < wantBoxes.Length; i++)
            {
                boxDiff = Math.Max(boxDiff, Math.Abs(wantBoxes[i] - boxes[b * wantBoxes.Length + i]));
            }
        }
        if (!ModelPreparer.Within(logitDiff, ModelPreparer.LogitTolerance) || !ModelPreparer.Within(boxDiff, ModelPreparer.BoxTolerance))
        {
            throw new ModelException($"the prepared form differs from {Path.GetFileName(singlePath)} on random inputs (logits by {logitDiff:G3} relative, tolerance {ModelPreparer.LogitTolerance}; boxes by {boxDiff:G3}, tolerance {ModelPreparer.BoxTolerance}): the batch could not be made dynamic or the head was not recognised; nothing was written");
        }
        return (logitDiff, boxDiff);
    }

    /// <summary>Logits of the fp32 and int8 encoder pairs on the check's random image and queries, correlated.</summary>
    public static double Correlate(OwlModel model, string image, string text, string int8Image, string int8Text) =>
        Correlation(Outputs(model, image, text).Logits, Outputs(model, int8Image, int8Text).Logits);

    /// <summary>The fp16 pair against the fp32 pair: largest score and box (model-input pixels) differences.</summary>
    public static (double Score, double BoxPixels) CompareFp16(OwlModel model, string image, string text, string fp16Image, string fp16Text)
    {
        var (fp32, fp16) = (Outputs(model, image, text), Outputs(model, fp16Image, fp16Text));
        var (score, boxPixels) = (0.0, 0.0);
        for (var i = 0; i < fp32.Logits.Length; i++)
        {
            score = Math.Max(score, Math.Abs(1 / (1 + Math.Exp(-fp32.Logits[i])) - 1 / (1 + Math.Exp(-fp16.Logits[i]))));
        }
        for (var i = 0; i < fp32.Boxes.Length; i++)
        {
            boxPixels = Math.Max(boxPixels, Math.Abs(fp32.Boxes[i] - fp16.Boxes[i]) * model.ImageSize);
        }
        return (score, boxPixels);
    }

    private static double Correlation(float[] fp32, float[] int8)
    {
        var (ma, mb) = (fp32.Average(), int8.Average());
        double sab = 0, saa = 0, sbb = 0;
        for (var i = 0; i < fp32.Length; i++)
        {
            (sab, saa, sbb) = (sab + (fp32[i] - ma) * (int8[i] - mb), saa + (fp32[i] - ma) * (fp32[i] - ma), sbb + (int8[i] - mb) * (int8[i] - mb));
        }
        return saa == 0 || sbb == 0 ? (fp32.SequenceEqual(int8) ? 1 : 0) : sab / Math.Sqrt(saa * sbb);
    }

    private static (float[] Logits, float[] Boxes) Outputs(OwlModel model, string imagePath, string textPath)
    {
        using var options = new SessionOptions { IntraOpNumThreads = Environment.ProcessorCount };
        using var image = new InferenceSession(imagePath, options);
        using var text = new InferenceSession(textPath, options);
        var s = model.ImageSize;
        var (pixels, tokens) = CheckInputs(model, images: 1);
        using var pv = OrtValue.CreateTensorValueFromMemory(pixels, [1, 3, s, s]);
        using var idv = OrtValue.CreateTensorValueFromMemory(tokens.InputIds, [tokens.Count, tokens.Length]);
        using var mv = OrtValue.CreateTensorValueFromMemory(tokens.AttentionMask, [tokens.Count, tokens.Length]);
        using var encoded1 = Run(image, ["pixel_values"], [pv], ["class_embeds", "logit_shift", "logit_scale", "pred_boxes"], "variant check");
        using var queryOut = Run(text, ["input_ids", "attention_mask"], [idv, mv], ["text_embeds"], "variant check");
        var features = new ImageFeatures(encoded1[0].GetTensorDataAsSpan<float>().ToArray(), encoded1[1].GetTensorDataAsSpan<float>().ToArray(),
            encoded1[2].GetTensorDataAsSpan<float>().ToArray(), 0);
        features = features with { Dimension = features.ClassEmbeddings.Length / features.Shift.Length };
        var logits = new float[features.Shift.Length * tokens.Count];
        ClassHead.Logits(features, queryOut[0].GetTensorDataAsSpan<float>().ToArray(), tokens.Count, new bool[tokens.Count], logits);
        return (logits, encoded1[3].GetTensorDataAsSpan<float>().ToArray());
    }

    /// <summary>The checks' inputs: random pixels for <paramref name="images"/> images (the same first image each time)
    /// and three queries, tokenized as the engine tokenizes them.</summary>
    private static (float[] Pixels, QueryTokens Tokens) CheckInputs(OwlModel model, int images)
    {
        var random = new Random(7);
        var pixels = Enumerable.Range(0, images * 3 * model.ImageSize * model.ImageSize).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        var tokenizer = ClipTokenizer.FromTokenizerJson(model.TokenizerPath);
        return (pixels, QueryTokens.Create(tokenizer, ["a photo of a cat", "red square", "yellow"], model.MaxTextTokens));
    }

    private static IDisposableReadOnlyCollection<OrtValue> Run(InferenceSession session, string[] names, OrtValue[] values, string[] outputs, string what)
    {
        try
        {
            using var runOptions = new RunOptions();
            return session.Run(runOptions, names, values, outputs);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelException($"the {what} failed on the check's random inputs ({e.Message}); nothing was written", e);
        }
    }
}
