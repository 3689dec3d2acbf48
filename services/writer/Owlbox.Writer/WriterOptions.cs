namespace Owlbox.Writer;

/// <summary>Writer settings (configuration <c>Owlbox:Writer</c>).</summary>
public sealed class WriterOptions
{
    /// <summary>Most results written per labels-file rewrite (default 256). A rewrite costs the whole file, so when
    /// results arrive faster than the writer keeps up, larger batches are what stops a backlog (and memory) growing
    /// with the dataset; at a slow stream the quiet window closes batches long before they fill.</summary>
    public int BatchMessageLimit { get; set; } = 256;

    /// <summary>A batch is written this long after its first result (default 50 ms), or when it holds
    /// <see cref="BatchMessageLimit"/>: results arriving in a stream (a GPU detector, a re-prompt from cached
    /// encodings) are written while more are detected, in batches that grow while a write is slow, so the local backend
    /// neither rewrites the labels file once per image nor leaves every write to the end of the job.</summary>
    public TimeSpan BatchTimeLimit { get; set; } = TimeSpan.FromMilliseconds(50);
}
