namespace Owlbox.Labeling.Filtering;

public enum RejectionReason
{
    BelowMinConfidence,
    SmallerThanLimit,
    LargerThanLimit,
    SuppressedByNms,
}
