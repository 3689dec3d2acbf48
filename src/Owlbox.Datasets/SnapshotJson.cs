using System.Text.Json;

namespace Owlbox.Datasets;

/// <summary>A sample's labels as the job store keeps them: the "before the job" state every write starts from.</summary>
public static class SnapshotJson
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    public static string Serialize(SampleLabels labels) => JsonSerializer.Serialize(labels, s_json);

    public static SampleLabels Deserialize(string? json) =>
        json is null ? SampleLabels.Empty : JsonSerializer.Deserialize<SampleLabels>(json, s_json) ?? SampleLabels.Empty;
}
