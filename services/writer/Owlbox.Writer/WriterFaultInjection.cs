namespace Owlbox.Writer;

/// <summary>
/// Deliberate crashes for fault tests (configuration <c>Owlbox:Faults:CrashAfterWriteMarker</c>): when set, the first
/// writer to get there writes a batch to the dataset, creates the marker file and kills its process before the job
/// store and the broker hear of it, the worst moment for exactly-once effects. Off unless configured.
/// </summary>
public sealed class WriterFaultInjection
{
    public string? CrashAfterWriteMarker { get; set; }

    internal void AfterDatasetWrite()
    {
        if (CrashAfterWriteMarker is { Length: > 0 } marker && !File.Exists(marker))
        {
            File.WriteAllText(marker, DateTimeOffset.UtcNow.ToString("O"));
            Environment.FailFast("owlbox fault injection: crash after writing, before acknowledging");
        }
    }
}
