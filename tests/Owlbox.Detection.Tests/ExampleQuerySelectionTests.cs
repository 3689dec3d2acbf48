using Owlbox.Detection.Inference;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Detection.Tests;

/// <summary><see cref="ExampleQuerySelection"/> against <see cref="HfReference"/>, a line-by-line transliteration of
/// Hugging Face's <c>OwlViTForObjectDetection.embed_image_query</c> / <c>Owlv2ForObjectDetection.embed_image_query</c>
/// (huggingface/transformers, src/transformers/models/owlv2/modeling_owlv2.py @c56db8dc4a8f9787159e7480336301b2bf63d940,
/// "Copied from" modeling_owlvit.py), with the user's box in place of [0, 0, 1, 1], on the same tensors.</summary>
public sealed class ExampleQuerySelectionTests
{
    /// <summary>Random boxes and embeddings in the model's ranges, seeded.</summary>
    private static (float[] Boxes, float[] Embeddings, float[] Objectness) Image(int seed, int n = 64, int d = 8)
    {
        var random = new Random(seed);
        var boxes = new float[n * 4];
        for (var i = 0; i < n; i++)
        {
            boxes[i * 4] = (float)random.NextDouble();
            boxes[i * 4 + 1] = (float)random.NextDouble();
            boxes[i * 4 + 2] = 0.02f + (float)random.NextDouble() * 0.4f;
            boxes[i * 4 + 3] = 0.02f + (float)random.NextDouble() * 0.4f;
        }
        var embeddings = Enumerable.Range(0, n * d).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var objectness = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
        return (boxes, embeddings, objectness);
    }

    public static TheoryData<int, float, float, float, float> Examples => new()
    {
        { 1, 0.1f, 0.1f, 0.4f, 0.5f },
        { 2, 0.5f, 0.5f, 0.6f, 0.6f },
        { 3, 0f, 0f, 1f, 1f }, // HF's own query box
        { 4, 0.7f, 0.2f, 0.95f, 0.3f },
        { 5, 0.33f, 0.33f, 0.34f, 0.34f }, // tiny
    };

    [Theory]
    [MemberData(nameof(Examples))]
    public void OwlVit_ChoosesThePatchHfChooses(int seed, float x0, float y0, float x1, float y1)
    {
        var (boxes, embeddings, _) = Image(seed);

        var chosen = ExampleQuerySelection.SelectPatch(boxes, embeddings, 8, [], (x0, y0, x1, y1));

        Assert.Equal(HfReference.EmbedImageQuery(boxes, embeddings, 8, [x0, y0, x1, y1], null), chosen);
        Assert.True(chosen >= 0);
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Owlv2_ChoosesTheMostObjectPatch_AmongThoseHfKeeps(int seed, float x0, float y0, float x1, float y1)
    {
        var (boxes, embeddings, objectness) = Image(seed);

        var chosen = ExampleQuerySelection.SelectPatch(boxes, embeddings, 8, objectness, (x0, y0, x1, y1));

        Assert.Equal(HfReference.EmbedImageQuery(boxes, embeddings, 8, [x0, y0, x1, y1], objectness), chosen);
    }

    [Fact]
    public void TheChoiceRules_DoChooseDifferently_OnTheseTensors()
    {
        // Not a tautology of the two tests above: both rules are exercised on data where they disagree.
        var differ = Enumerable.Range(1, 20).Count(seed =>
        {
            var (boxes, embeddings, objectness) = Image(seed);
            return ExampleQuerySelection.SelectPatch(boxes, embeddings, 8, [], (0f, 0f, 1f, 1f))
                != ExampleQuerySelection.SelectPatch(boxes, embeddings, 8, objectness, (0f, 0f, 1f, 1f));
        });
        Assert.True(differ > 0);
    }

    [Fact]
    public void NoOverlap_FallsBackToGeneralisedIoU_AsHfDoes()
    {
        // Every predicted box lies right of the example; 0 and 2 touch its edge (GIoU exactly 0, the best), 1 and 3 are
        // further off. Binary fractions, so the touching boxes' GIoU is exactly 0 in float.
        float[] boxes = [0.5625f, 0.5f, 0.125f, 0.25f, 0.8125f, 0.5f, 0.125f, 0.25f, 0.5625f, 0.5f, 0.125f, 0.25f, 0.875f, 0.875f, 0.125f, 0.125f];
        float[] embeddings = [1, 1, 0, 1, 1, 0, 0.2f, 0.1f];
        var example = (0.25f, 0.375f, 0.5f, 0.625f);

        var overlaps = ExampleQuerySelection.Overlaps(boxes, example);
        Assert.All(overlaps, o => Assert.True(o <= 0)); // generalised, not plain IoU (all of which are 0)
        Assert.Equal(HfReference.Overlaps(boxes, [0.25f, 0.375f, 0.5f, 0.625f]), overlaps);

        var chosen = ExampleQuerySelection.SelectPatch(boxes, embeddings, 2, [], example);
        Assert.Equal(HfReference.EmbedImageQuery(boxes, embeddings, 2, [0.25f, 0.375f, 0.5f, 0.625f], null), chosen);
        Assert.Equal(2, chosen); // of the two touching boxes (0 and 2), 2 is the less like the mean
    }

    [Fact]
    public void AllGeneralisedIoUsNegative_HfKeepsNothing_OwlboxKeepsThoseWithin20PercentOfTheBest()
    {
        float[] boxes = [0.7f, 0.5f, 0.1f, 0.1f, 0.9f, 0.9f, 0.1f, 0.1f];
        float[] embeddings = [1, 0, 0, 1];
        var example = (0.1f, 0.1f, 0.3f, 0.3f);

        Assert.Equal(-1, HfReference.EmbedImageQuery(boxes, embeddings, 2, [0.1f, 0.1f, 0.3f, 0.3f], null));
        Assert.Equal(0, ExampleQuerySelection.SelectPatch(boxes, embeddings, 2, [], example)); // the nearer box
    }

    [Fact]
    public void Ties_GoToTheFirstPatch_AsTorchArgminDoes()
    {
        // Three identical boxes on the example, identical embeddings and objectness: patch 1 (the first kept) wins.
        float[] boxes = [0.9f, 0.9f, 0.1f, 0.1f, 0.5f, 0.5f, 0.2f, 0.2f, 0.5f, 0.5f, 0.2f, 0.2f, 0.5f, 0.5f, 0.2f, 0.2f];
        float[] embeddings = [0, 1, 1, 0, 1, 0, 1, 0];
        float[] objectness = [9, 2, 2, 2];
        float[] corners = [0.4f, 0.4f, 0.6f, 0.6f];

        Assert.Equal(1, HfReference.EmbedImageQuery(boxes, embeddings, 2, corners, null));
        Assert.Equal(1, ExampleQuerySelection.SelectPatch(boxes, embeddings, 2, [], (0.4f, 0.4f, 0.6f, 0.6f)));
        Assert.Equal(1, HfReference.EmbedImageQuery(boxes, embeddings, 2, corners, objectness));
        Assert.Equal(1, ExampleQuerySelection.SelectPatch(boxes, embeddings, 2, objectness, (0.4f, 0.4f, 0.6f, 0.6f)));
    }

    [Theory]
    [InlineData(InputLayout.Stretch, 640, 360, 64, 36, 128, 72, 0.1f, 0.1f, 0.3f, 0.3f)]
    [InlineData(InputLayout.PadBottomRight, 640, 360, 64, 36, 128, 72, 0.1f, 0.05625f, 0.3f, 0.16875f)]
    [InlineData(InputLayout.PadBottomRight, 360, 640, 36, 64, 72, 128, 0.05625f, 0.1f, 0.16875f, 0.3f)]
    public void AnExampleBox_MapsIntoTheModelsFrame_AsDetectionsMapBack(InputLayout layout, int w, int h, int x, int y, int bw, int bh,
        float x0, float y0, float x1, float y1)
    {
        var corners = BoxGeometry.ToNormalizedCorners(new PixelBox(x, y, bw, bh), layout, w, h);

        Assert.Equal(x0, corners.X0, 5);
        Assert.Equal(y0, corners.Y0, 5);
        Assert.Equal(x1, corners.X1, 5);
        Assert.Equal(y1, corners.Y1, 5);
        // And back through the one mapping detections take.
        var back = BoxGeometry.ToPixels((corners.X0 + corners.X1) / 2, (corners.Y0 + corners.Y1) / 2, corners.X1 - corners.X0, corners.Y1 - corners.Y0, layout, w, h);
        Assert.Equal(new PixelBox(x, y, bw, bh), back);
    }

    /// <summary>
    /// HF's code, line by line, for one query image (loop body of <c>embed_image_query</c>), over arrays standing for
    /// torch tensors; <c>each_query_box</c> is the example box instead of [[0, 0, 1, 1]]. With objectness, the last
    /// step ranks by objectness instead of the mean similarity (the OWLv2 recommendation); everything before is HF's.
    /// Returns <c>best_box_ind</c>, or -1 where HF appends nothing.
    /// </summary>
    private static class HfReference
    {
        // def center_to_corners_format(bboxes_center):
        //     center_x, center_y, width, height = bboxes_center.unbind(-1)
        //     bbox_corners = torch.stack([(center_x - 0.5 * width), (center_y - 0.5 * height),
        //                                 (center_x + 0.5 * width), (center_y + 0.5 * height)], dim=-1)
        private static float[][] CenterToCornersFormat(float[] bboxesCenter)
        {
            var result = new float[bboxesCenter.Length / 4][];
            for (var i = 0; i < result.Length; i++)
            {
                float centerX = bboxesCenter[i * 4], centerY = bboxesCenter[i * 4 + 1], width = bboxesCenter[i * 4 + 2], height = bboxesCenter[i * 4 + 3];
                result[i] = [centerX - 0.5f * width, centerY - 0.5f * height, centerX + 0.5f * width, centerY + 0.5f * height];
            }
            return result;
        }

        // def box_area(boxes): return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        private static float BoxArea(float[] box) => (box[2] - box[0]) * (box[3] - box[1]);

        // def box_iou(boxes1, boxes2):
        //     area1 = box_area(boxes1); area2 = box_area(boxes2)
        //     left_top = torch.max(boxes1[:, None, :2], boxes2[:, :2])
        //     right_bottom = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])
        //     width_height = (right_bottom - left_top).clamp(min=0)
        //     inter = width_height[:, :, 0] * width_height[:, :, 1]
        //     union = area1[:, None] + area2 - inter
        //     iou = inter / union
        //     return iou, union
        private static (float[] Iou, float[] Union) BoxIou(float[] box1, float[][] boxes2)
        {
            var area1 = BoxArea(box1);
            var iou = new float[boxes2.Length];
            var union = new float[boxes2.Length];
            for (var j = 0; j < boxes2.Length; j++)
            {
                var area2 = BoxArea(boxes2[j]);
                float ltX = Math.Max(box1[0], boxes2[j][0]), ltY = Math.Max(box1[1], boxes2[j][1]);
                float rbX = Math.Min(box1[2], boxes2[j][2]), rbY = Math.Min(box1[3], boxes2[j][3]);
                float whX = Math.Max(rbX - ltX, 0), whY = Math.Max(rbY - ltY, 0);
                var inter = whX * whY;
                union[j] = area1 + area2 - inter;
                iou[j] = inter / union[j];
            }
            return (iou, union);
        }

        // def generalized_box_iou(boxes1, boxes2):
        //     iou, union = box_iou(boxes1, boxes2)
        //     top_left = torch.min(boxes1[:, None, :2], boxes2[:, :2])
        //     bottom_right = torch.max(boxes1[:, None, 2:], boxes2[:, 2:])
        //     width_height = (bottom_right - top_left).clamp(min=0)
        //     area = width_height[:, :, 0] * width_height[:, :, 1]
        //     return iou - (area - union) / area
        private static float[] GeneralizedBoxIou(float[] box1, float[][] boxes2)
        {
            var (iou, union) = BoxIou(box1, boxes2);
            var result = new float[boxes2.Length];
            for (var j = 0; j < boxes2.Length; j++)
            {
                float tlX = Math.Min(box1[0], boxes2[j][0]), tlY = Math.Min(box1[1], boxes2[j][1]);
                float brX = Math.Max(box1[2], boxes2[j][2]), brY = Math.Max(box1[3], boxes2[j][3]);
                var area = Math.Max(brX - tlX, 0) * Math.Max(brY - tlY, 0);
                result[j] = iou[j] - (area - union[j]) / area;
            }
            return result;
        }

        // ious, _ = box_iou(each_query_box, each_query_pred_boxes)
        // if torch.all(ious[0] == 0.0): ious = generalized_box_iou(each_query_box, each_query_pred_boxes)
        public static float[] Overlaps(float[] predBoxes, float[] eachQueryBox)
        {
            var eachQueryPredBoxes = CenterToCornersFormat(predBoxes);
            var (ious, _) = BoxIou(eachQueryBox, eachQueryPredBoxes);
            if (ious.All(v => v == 0.0f))
            {
                ious = GeneralizedBoxIou(eachQueryBox, eachQueryPredBoxes);
            }
            return ious;
        }

        public static int EmbedImageQuery(float[] predBoxes, float[] classEmbeds, int d, float[] eachQueryBox, float[]? objectness)
        {
            var ious = Overlaps(predBoxes, eachQueryBox);
            // iou_threshold = torch.max(ious) * 0.8
            var iouThreshold = ious.Max() * 0.8f;
            // selected_inds = (ious[0] >= iou_threshold).nonzero()
            var selectedInds = Enumerable.Range(0, ious.Length).Where(i => ious[i] >= iouThreshold).ToArray();
            // if selected_inds.numel():
            if (selectedInds.Length == 0)
            {
                return -1;
            }
            // selected_embeddings = class_embeds[i][selected_inds.squeeze(1)]
            var selectedEmbeddings = selectedInds.Select(i => classEmbeds.AsSpan(i * d, d).ToArray()).ToArray();
            // mean_embeds = torch.mean(class_embeds[i], axis=0)
            var n = classEmbeds.Length / d;
            var meanEmbeds = Enumerable.Range(0, d).Select(k => (float)(Enumerable.Range(0, n).Sum(p => (double)classEmbeds[p * d + k]) / n)).ToArray();
            // mean_sim = torch.einsum("d,id->i", mean_embeds, selected_embeddings)
            var meanSim = selectedEmbeddings.Select(e => Enumerable.Range(0, d).Sum(k => meanEmbeds[k] * e[k])).ToArray();
            // best_box_ind = selected_inds[torch.argmin(mean_sim)]   (OWLv2 recommendation: argmax objectness instead)
            var rank = objectness is null ? meanSim : selectedInds.Select(i => -objectness[i]).ToArray();
            var argmin = 0;
            for (var k = 1; k < rank.Length; k++)
            {
                if (rank[k] < rank[argmin])
                {
                    argmin = k; // torch.argmin: the first of equal minima
                }
            }
            return selectedInds[argmin];
        }
    }
}
