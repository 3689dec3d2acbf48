namespace Owlbox.Verifier;

/// <summary>Verifier settings (configuration section <c>Owlbox:Verifier</c>). The endpoint, model, question and budget
/// are the job's (its spec); the key, the cache and the rate are the deployment's.</summary>
public sealed class VerifierServiceOptions
{
    /// <summary>Model calls in flight at once per replica (default 10, the relabel block's): set it from the model's rate
    /// limit divided by the replicas. Also the samples consumed at once.</summary>
    public int Concurrency { get; set; } = 10;

    /// <summary>Where answers are kept, so a redelivered sample or a re-run asks nothing twice (unset: answers are kept
    /// only for local datasets, in the dataset's <c>.owlbox/llm-answers</c>). Replicas share it when they mount it.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>Environment variable holding the model's API key (default OPENAI_API_KEY), read by this process only;
    /// jobs name the endpoint and model, never the key.</summary>
    public string ApiKeyVariable { get; set; } = "OPENAI_API_KEY";

    /// <summary>Each attempt's timeout (default 60 s, the block's).</summary>
    public TimeSpan PerCallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Retries of a call answered 429 or 5xx, with exponential backoff honouring Retry-After (default 3).</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>First backoff delay (default 1 s).</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);
}
