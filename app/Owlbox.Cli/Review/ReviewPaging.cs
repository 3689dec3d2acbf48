using System.Globalization;

namespace Owlbox.Cli.Review;

/// <summary>Which images a state request asks for: <paramref name="Limit"/> of them from <paramref name="Offset"/> in
/// name order, of every image or only of those with a pending box in the set shown (<paramref name="PendingOnly"/>).</summary>
public sealed record PageRequest(int Offset, int Limit, bool PendingOnly)
{
    public static readonly PageRequest First = new(0, ReviewPaging.DefaultLimit, false);
}

/// <summary>The review page's paging rules: what a state request's <c>offset</c>, <c>limit</c> and <c>only</c> may be,
/// and where the pages start. A request costs its page, so the page size is bounded.</summary>
public static class ReviewPaging
{
    public const int DefaultLimit = 100;

    /// <summary>The most images one state request returns (each costs a labels read and a triage).</summary>
    public const int MaxLimit = 1000;

    /// <summary>The request's page from its query parameters (each may be absent); or what is wrong with them, naming
    /// the parameter.</summary>
    public static (PageRequest? Page, string? Problem) Parse(string? offset, string? limit, string? only)
    {
        if (!TryNumber(offset, 0, out var o) || o < 0)
        {
            return (null, $"offset must be a whole number of images from 0 (got '{offset}')");
        }
        if (!TryNumber(limit, DefaultLimit, out var l) || l is < 1 or > MaxLimit)
        {
            return (null, $"limit must be a whole number of images from 1 to {MaxLimit} (got '{limit}')");
        }
        if (only is not (null or "" or "all" or "pending"))
        {
            return (null, $"only must be 'all' or 'pending' (got '{only}')");
        }
        return (new PageRequest(o, l, only == "pending"), null);
    }

    /// <summary>Where the last page of <paramref name="matching"/> images starts.</summary>
    public static int LastPageOffset(int matching, int limit) => matching == 0 ? 0 : (matching - 1) / limit * limit;

    /// <summary>Why a page is past the last image (an offset from a page that has since shrunk, or made up); null when it
    /// is not. Offset 0 is never past the end: an empty dataset has one empty page.</summary>
    public static string? PastEnd(PageRequest page, int matching) =>
        page.Offset > 0 && page.Offset >= matching
            ? $"offset {page.Offset} is past the last image ({matching} {(page.PendingOnly ? "with pending boxes" : "in the dataset")}); the last page starts at offset {LastPageOffset(matching, page.Limit)}"
            : null;

    private static bool TryNumber(string? text, int absent, out int value)
    {
        if (string.IsNullOrEmpty(text))
        {
            value = absent;
            return true;
        }
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
