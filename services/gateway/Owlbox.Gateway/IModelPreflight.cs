namespace Owlbox.Gateway;

/// <summary>
/// Where the gateway shares its process with the detector (the one-process CLI), the model's session is loaded
/// while the job is checked: a broken model file or an unavailable execution provider then stops the job at setup
/// instead of failing every sample. A gateway alone has no session to load and registers none.
/// </summary>
public interface IModelPreflight
{
    /// <summary>Throws <see cref="Models.ModelException"/> when the job's model cannot run here. May start
    /// the job's own preparation (encoding its prompt) in the background.</summary>
    void Check(Contracts.V1.JobSpec spec);
}
