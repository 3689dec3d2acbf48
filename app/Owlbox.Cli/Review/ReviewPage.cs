namespace Owlbox.Cli.Review;

/// <summary>The page itself: one HTML file with its script and styles, embedded in the binary (no front-end build).</summary>
public static class ReviewPage
{
    public static readonly string Html = Read();

    private static string Read()
    {
        using var stream = typeof(ReviewPage).Assembly.GetManifestResourceStream("Owlbox.Cli.Review.review.html")
            ?? throw new InvalidOperationException("review.html is not embedded in this build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
