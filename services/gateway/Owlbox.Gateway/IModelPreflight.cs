namespace Owlbox.Gateway;

/// <summary>
/// Where the gateway shares its process with the detector (the one-process CLI), the model's session is loaded
/// while the job is checked: a broken model file or an unavailable execution provider then stops the job at setup
/// instead of failing every sample. A gateway alone has no session to load and registers none.
/// </summary>
public interface IModelPreflight
{
    /// <summary>Throws <see cref="Detection.Models.ModelException"/> when the model cannot run here.</summary>
    void Check(string model, string variant);
}
