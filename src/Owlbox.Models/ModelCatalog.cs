namespace Owlbox.Models;

/// <summary>
/// Maps the model a job names to a directory. A deployment lists its models by id (configuration
/// <c>Owlbox:Models:&lt;id&gt;</c> = directory), so a job cannot make a service open arbitrary paths; the one-process
/// CLI allows plain directories, since the user names them on their own machine.
/// </summary>
public sealed class ModelCatalog(IReadOnlyDictionary<string, string> models, bool allowDirectories)
{
    public OwlModel Load(string model, string variant)
    {
        if (models.TryGetValue(model, out var directory))
        {
            return ModelDirectory.Load(directory, variant);
        }
        if (allowDirectories)
        {
            return ModelDirectory.Load(model, variant);
        }
        throw new ModelException($"unknown model '{model}'; this deployment has: {(models.Count == 0 ? "none" : string.Join(", ", models.Keys.Order(StringComparer.Ordinal)))}");
    }
}
