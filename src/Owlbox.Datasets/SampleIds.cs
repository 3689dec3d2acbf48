using System.Text.Json;

namespace Owlbox.Datasets;

/// <summary>Reads a <c>--data-ids-file</c>: a bare JSON array (what every official block reads) or
/// <c>{"ids": [...]}</c> (what the Edge Impulse docs specify). Entries may be numbers or strings.</summary>
public static class SampleIds
{
    public static IReadOnlyList<string> ReadFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new DatasetException($"--data-ids-file '{path}' does not exist");
        }
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new DatasetException($"--data-ids-file '{path}' is not valid JSON: {e.Message}", e);
        }
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("ids", out var ids))
        {
            root = ids;
        }
        if (root.ValueKind != JsonValueKind.Array)
        {
            throw new DatasetException($"--data-ids-file '{path}' must hold a JSON array of ids or {{\"ids\": [...]}}");
        }
        var result = new List<string>();
        var index = 0;
        foreach (var e in root.EnumerateArray())
        {
            result.Add(e.ValueKind switch
            {
                JsonValueKind.Number when e.TryGetInt64(out var n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture),
                JsonValueKind.String when !string.IsNullOrWhiteSpace(e.GetString()) => e.GetString()!,
                _ => throw new DatasetException($"--data-ids-file '{path}': entry {index} ({e.GetRawText()}) is not an integer id or a file name"),
            });
            index++;
        }
        return result;
    }
}
