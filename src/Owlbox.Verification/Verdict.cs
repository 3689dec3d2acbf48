namespace Owlbox.Verification;

/// <summary>What one model answer means for one box.</summary>
public abstract record Verdict
{
    private Verdict() { }

    /// <summary>The answer is the box's own label.</summary>
    public sealed record Keep : Verdict;

    /// <summary>The answer is another allowed label: the box takes it.</summary>
    public sealed record Relabel(string To) : Verdict;

    /// <summary>The answer is one of the disable words: the box goes.</summary>
    public sealed record Remove(string Word) : Verdict;

    /// <summary>The answer could not be read as any allowed answer: the box stays as it is and the caller decides
    /// (the stage fails the box's sample rather than invent a label).</summary>
    public sealed record Invalid(string Raw) : Verdict;
}
