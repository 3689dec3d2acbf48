using System.Collections.Concurrent;
using Owlbox.Models.Text;

namespace Owlbox.Models;

/// <summary>
/// Maps the model a job names to a directory. A deployment lists its models by id (configuration
/// <c>Owlbox:Models:&lt;id&gt;</c> = directory), so a job cannot make a service open arbitrary paths; the one-process
/// CLI allows plain directories, since the user names them on their own machine.
/// </summary>
/// <remarks>
/// Each (model, variant) is read once per process, its tokenizer too: the gateway checks every submission's prompt
/// with it, the detector's session is built from it, and none of them reads the directory again (a re-exported model
/// is seen after a restart, as the detector's session already was). A failed read is not kept: the next job tries
/// again. Every read is counted (<see cref="ModelReads"/>).
/// </remarks>
public sealed class ModelCatalog(IReadOnlyDictionary<string, string> models, bool allowDirectories)
{
    private readonly ConcurrentDictionary<(string Model, string Variant), Lazy<OwlModel>> _models = new();
    private readonly ConcurrentDictionary<(string Model, string Variant), Lazy<ClipTokenizer>> _tokenizers = new();

    /// <summary>The model's directory as read (once); throws <see cref="ModelException"/> when it cannot be used.</summary>
    public OwlModel Load(string model, string variant) =>
        Cached(_models, (model, variant), () => ModelDirectory.Load(DirectoryOf(model), variant));

    /// <summary>The model's tokenizer, parsed from its <c>tokenizer.json</c> once.</summary>
    public ClipTokenizer Tokenizer(string model, string variant) =>
        Cached(_tokenizers, (model, variant), () => ClipTokenizer.FromTokenizerJson(Load(model, variant).TokenizerPath));

    private string DirectoryOf(string model)
    {
        if (models.TryGetValue(model, out var directory))
        {
            return directory;
        }
        if (allowDirectories)
        {
            return model;
        }
        throw new ModelException($"unknown model '{model}'; this deployment has: {(models.Count == 0 ? "none" : string.Join(", ", models.Keys.Order(StringComparer.Ordinal)))}");
    }

    private static T Cached<T>(ConcurrentDictionary<(string, string), Lazy<T>> cache, (string, string) key, Func<T> read)
    {
        var lazy = cache.GetOrAdd(key, _ => new Lazy<T>(read));
        try
        {
            return lazy.Value;
        }
        catch
        {
            cache.TryRemove(KeyValuePair.Create(key, lazy)); // a model fixed meanwhile is read again by the next job
            throw;
        }
    }
}
