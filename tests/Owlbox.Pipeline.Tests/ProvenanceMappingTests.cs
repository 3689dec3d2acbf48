using System.Text.Json;
using Owlbox.Contracts.V1;
using Owlbox.Labeling;
using Owlbox.Labeling.Filtering;
using Owlbox.Labeling.Provenance;

namespace Owlbox.Pipeline.Tests;

/// <summary>A proposed box's provenance comes from what the box carried and the job's thresholds, in one place
/// (<see cref="BoxProvenance.For"/>), and reads exactly as the writer's hand-built record did.</summary>
public sealed class ProvenanceMappingTests
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    public static TheoryData<double, bool, double, bool, double, double> Options => new()
    {
        { 0.1, true, 0.3, false, 0, 0 },
        { 0.05, false, 0.5, true, 1.5, 90 },
    };

    [Theory]
    [MemberData(nameof(Options))]
    public void ADetectedObjectsProvenance_IsTheFieldsItCarried_AndTheJobsThresholds(double floor, bool nms, double iou, bool agnostic, double smaller, double larger)
    {
        var options = new LabelingOptions
        {
            ScoreFloor = floor,
            Filter = new FilterOptions { Nms = nms, NmsIouThreshold = iou, ClassAgnosticNms = agnostic, IgnoreSmallerThanPercent = smaller, IgnoreLargerThanPercent = larger },
        };
        var box = new DetectedObject("cup", 1, 2, 30, 40, 0.123457, 3, "a coffee cup", 0.2);

        var provenance = box.Provenance("owlbox/m", options);

        // What the writer built by hand before, field by field.
        var byHand = new BoxProvenance("owlbox/m", box.PromptLine, box.SearchText, box.Score, box.MinConfidence, options.ScoreFloor,
            options.Filter.Nms, options.Filter.NmsIouThreshold, options.Filter.ClassAgnosticNms, options.Filter.IgnoreSmallerThanPercent,
            options.Filter.IgnoreLargerThanPercent);
        Assert.Equal(byHand, provenance);
        Assert.Equal(JsonSerializer.Serialize(byHand, s_json), JsonSerializer.Serialize(provenance, s_json));
    }

    [Fact]
    public void TheProvenanceJson_IsByteForByteWhatProposalSetsHold()
    {
        var box = new DetectedObject("cup", 1, 2, 30, 40, 0.123457, 3, "a coffee cup", 0.2);

        var json = JsonSerializer.Serialize(box.Provenance("owlbox/m", new LabelingOptions()), s_json);

        Assert.Equal("""{"modelId":"owlbox/m","promptLine":3,"searchText":"a coffee cup","score":0.123457,"minConfidence":0.2,"scoreFloor":0.1,"nms":true,"nmsIouThreshold":0.2,"classAgnosticNms":false,"ignoreSmallerThanPercent":0,"ignoreLargerThanPercent":0}""", json);
    }
}
