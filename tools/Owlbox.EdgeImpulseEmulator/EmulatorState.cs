using System.Text.Json;
using System.Text.Json.Nodes;

namespace Owlbox.EdgeImpulseEmulator;

/// <summary>The emulated project: samples with boxes, metadata and proposed changes, persisted to <c>state.json</c>
/// in the data folder after every write.</summary>
public sealed class EmulatorState
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private static readonly string[] s_images = [".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"];
    private readonly Lock _lock = new();
    private readonly string _path;

    public sealed class Data
    {
        public int ProjectId { get; set; } = 1;
        public string ProjectName { get; set; } = "Owlbox emulated project";
        public string ApiKey { get; set; } = "ei_emulator_key";
        public List<Sample> Samples { get; set; } = [];
    }

    public sealed class Sample
    {
        public long Id { get; set; }
        public string Filename { get; set; } = "";
        public string Category { get; set; } = "training";
        public string Label { get; set; } = "";
        public List<JsonObject> BoundingBoxes { get; set; } = [];
        public Dictionary<string, string> Metadata { get; set; } = [];
        public bool IsDisabled { get; set; }
        public Dictionary<int, JsonObject> ProposedChanges { get; set; } = [];
    }

    public EmulatorState(string directory, string? apiKey)
    {
        Directory = directory;
        _path = Path.Combine(directory, "state.json");
        if (File.Exists(_path))
        {
            Current = JsonSerializer.Deserialize<Data>(File.ReadAllText(_path), s_json)!;
        }
        else
        {
            Current = new Data();
            var id = 1;
            foreach (var f in System.IO.Directory.GetFiles(directory).Where(f => s_images.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal))
            {
                Current.Samples.Add(new Sample { Id = id++, Filename = Path.GetFileName(f), Category = id % 5 == 0 ? "testing" : "training" });
            }
        }
        if (apiKey is not null)
        {
            Current.ApiKey = apiKey;
        }
        Save();
    }

    public string Directory { get; }
    public Data Current { get; }

    public T Read<T>(Func<Data, T> read)
    {
        lock (_lock)
        {
            return read(Current);
        }
    }

    public void Write(Action<Data> change)
    {
        lock (_lock)
        {
            change(Current);
            Save();
        }
    }

    private void Save()
    {
        var temp = _path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(Current, s_json));
        File.Move(temp, _path, overwrite: true);
    }
}
