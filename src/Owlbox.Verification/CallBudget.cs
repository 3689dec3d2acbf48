namespace Owlbox.Verification;

/// <summary>
/// The most model calls a run may make (<c>--max-llm-calls</c>), shared by every image and thread of the run. A call is
/// taken before it is made and counted even when it fails (a failed call is still billed or rate-limited); retries of
/// one call are one call. Cache hits take nothing.
/// </summary>
public sealed class CallBudget
{
    private long _used;
    private long _refused;

    /// <param name="max">The limit, or null for none.</param>
    public CallBudget(long? max = null)
    {
        if (max is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(max), max, "the call budget cannot be negative");
        }
        Max = max;
    }

    public long? Max { get; }

    /// <summary>Calls taken so far.</summary>
    public long Used => Interlocked.Read(ref _used);

    /// <summary>Boxes that needed a call after the budget was spent (left as they were).</summary>
    public long Left => Interlocked.Read(ref _refused);

    /// <summary>Takes one call if the budget allows; otherwise counts the box as left and says no.</summary>
    public bool TryTake()
    {
        while (true)
        {
            var used = Interlocked.Read(ref _used);
            if (Max is { } max && used >= max)
            {
                Interlocked.Increment(ref _refused);
                return false;
            }
            if (Interlocked.CompareExchange(ref _used, used + 1, used) == used)
            {
                return true;
            }
        }
    }
}
