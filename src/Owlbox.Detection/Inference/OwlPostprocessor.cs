using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Filtering;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Detection.Inference;

/// <summary>
/// Decodes one image's outputs: every (patch, query) whose sigmoid score is above the floor becomes a candidate
/// (as the HF and transformers.js pipelines do per label; not an argmax across queries), mapped to image pixels.
/// </summary>
public static class OwlPostprocessor
{
    public static List<DetectedBox> Decode(
        DetectorOutput output, int imageIndex, IReadOnlyList<PromptLine> lines, double scoreFloor,
        InputLayout layout, int imageWidth, int imageHeight)
    {
        if (lines.Count != output.Queries)
        {
            throw new ArgumentException($"{lines.Count} prompt lines for {output.Queries} queries", nameof(lines));
        }
        // Compare logits, not sigmoids: sigmoid is monotonic, so one log per job replaces one exp per pair.
        var floorLogit = scoreFloor <= 0 ? float.NegativeInfinity : (float)Math.Log(scoreFloor / (1 - scoreFloor));
        var result = new List<DetectedBox>();
        var n = output.Patches;
        var q = output.Queries;
        var logits = output.Logits.Span.Slice(imageIndex * n * q, n * q);
        var boxes = output.Boxes.Span.Slice(imageIndex * n * 4, n * 4);
        for (var p = 0; p < n; p++)
        {
            for (var j = 0; j < q; j++)
            {
                var logit = logits[p * q + j];
                if (logit <= floorLogit)
                {
                    continue;
                }
                var box = BoxGeometry.ToPixels(boxes[p * 4], boxes[p * 4 + 1], boxes[p * 4 + 2], boxes[p * 4 + 3], layout, imageWidth, imageHeight);
                if (box is { } pixels)
                {
                    result.Add(new DetectedBox(lines[j], Sigmoid(logit), pixels));
                }
            }
        }
        return result;
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));
}
