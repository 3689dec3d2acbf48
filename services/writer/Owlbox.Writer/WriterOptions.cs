namespace Owlbox.Writer;

/// <summary>Writer settings (configuration <c>Owlbox:Writer</c>).</summary>
public sealed class WriterOptions
{
    /// <summary>Most results written per labels-file rewrite (default 256). A rewrite costs the whole file, so when
    /// results arrive faster than the writer keeps up, larger batches are what stops a backlog (and memory) growing
    /// with the dataset; at a slow stream the quiet window closes batches long before they fill.</summary>
    public int BatchMessageLimit { get; set; } = 256;

    /// <summary>A batch is written once no result has arrived for this long (default 100 ms), or when it holds
    /// <see cref="BatchMessageLimit"/>: results arriving in a stream (a GPU detector) fill batches, so the local
    /// backend does not rewrite the labels file once per image, while the last result of a job waits only this long.</summary>
    public TimeSpan BatchTimeLimit { get; set; } = TimeSpan.FromMilliseconds(50);
}
