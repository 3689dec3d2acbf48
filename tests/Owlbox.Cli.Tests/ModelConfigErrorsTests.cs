using System.Text.Json.Nodes;

namespace Owlbox.Cli.Tests;

/// <summary>A model folder's config field out of bounds stops <c>models prepare</c> and <c>label</c> at setup, naming
/// the file and field (issue 22, findings 12 and 13): no .NET exception text, no gigabytes allocated first.</summary>
public sealed class ModelConfigErrorsTests : IDisposable
{
    private readonly Workspace _ws = new();
    private readonly string _models = Directory.CreateTempSubdirectory("owlbox-config-").FullName;

    public void Dispose()
    {
        _ws.Dispose();
        Directory.Delete(_models, recursive: true);
    }

    /// <summary>A copy of the owlv2 test model with one field of one config file set to <paramref name="json"/>.</summary>
    private string ModelWith(string file, string field, string json)
    {
        var source = Workspace.Owlv2Model;
        var target = Path.Combine(_models, "owlv2");
        foreach (var f in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(target, Path.GetRelativePath(source, f));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(f, to);
        }
        var path = Path.Combine(target, file);
        var root = JsonNode.Parse(File.ReadAllText(path))!;
        var parts = field.Split('.');
        parts[..^1].Aggregate(root, (node, part) => node[part]!)[parts[^1]] = JsonNode.Parse(json);
        File.WriteAllText(path, root.ToJsonString());
        return target;
    }

    public static TheoryData<string, string, string, string> Cases => new()
    {
        { "preprocessor_config.json", "size", "12000", "preprocessor_config.json: \"size\" must be a whole number from 1 to 4096, found 12000" },
        { "preprocessor_config.json", "size", """{"height": 20000, "width": 20000}""", "preprocessor_config.json: \"size.height\" must be a whole number from 1 to 4096, found 20000" },
        { "config.json", "text_config", "[16]", "config.json: \"text_config\" must be an object, found [16]" },
        { "config.json", "text_config.max_position_embeddings", "-3", "config.json: \"text_config.max_position_embeddings\" must be a whole number from 2 to 4096, found -3" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ModelsPrepare_AndLabel_NameTheFileAndField(string file, string field, string json, string message)
    {
        var model = ModelWith(file, field, json);

        var prepare = await Workspace.RunAsync("models", "prepare", model);
        var label = await Workspace.RunAsync("label", _ws.Dataset, "--model", model, "--prompt-file", Workspace.PromptFile);

        foreach (var (exit, output, err) in new[] { prepare, label })
        {
            Assert.True(exit == OwlboxCli.SetupError, $"exit {exit}\n{output}{err}");
            Assert.Contains(message, err, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", err, StringComparison.Ordinal);
        }
        Assert.False(File.Exists(Path.Combine(model, "onnx", "image_encoder.onnx")), "nothing written");
    }

    /// <summary>Attack finding F20: a tokenizer.json that is empty, not JSON or not laid out as one is named, in words.</summary>
    [Theory]
    [InlineData("", " is not valid JSON (")]
    [InlineData("{\"model\": ", " is not valid JSON (")]
    [InlineData("[1, 2]", ": expected a BPE tokenizer")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": [], \"merges\": []}}", " is not laid out as a Hugging Face tokenizer.json (model.vocab, model.merges, added_tokens): ")]
    public async Task Label_WithADamagedTokenizerJson_NamesTheFile(string content, string message)
    {
        var model = ModelWith("config.json", "text_config.max_position_embeddings", "16");
        var tokenizer = Path.Combine(model, "tokenizer.json");
        await File.WriteAllTextAsync(tokenizer, content);

        var (exit, output, err) = await Workspace.RunAsync("label", _ws.Dataset, "--model", model, "--prompt-file", Workspace.PromptFile);

        Assert.True(exit == OwlboxCli.SetupError, $"exit {exit}\n{output}{err}");
        Assert.Contains(tokenizer + message, err, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", err, StringComparison.Ordinal);
    }
}
