namespace Owlbox.Contracts;

/// <summary>
/// Version of the message contracts. Rules: one immutable record per file; changes are additive only (a renamed
/// or removed property breaks consumers still running the old version); a breaking change gets a new type.
/// The message records themselves arrive with the message-driven services issue.
/// </summary>
public static class ContractVersion
{
    public const int Current = 1;
}
