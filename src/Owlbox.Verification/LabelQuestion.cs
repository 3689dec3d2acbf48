namespace Owlbox.Verification;

/// <summary>The question a labeling job asks about each low-score detection: the user's (<c>--prompt-verify</c>) or,
/// when they give none, which of the prompt's labels the crop shows, or a disable word.</summary>
public static class LabelQuestion
{
    /// <summary>The answers that remove a box in a labeling job (the relabel block's default).</summary>
    public static readonly IReadOnlyList<string> DisableLabels = ["remove"];

    /// <summary>The question the job asks (one place: the verifier asks it, the writer records it as <c>verify_prompt</c>).</summary>
    public static string Ask(string? given, IReadOnlyList<string> labels) =>
        string.IsNullOrWhiteSpace(given) ? For(labels, DisableLabels) : given;

    public static string For(IReadOnlyList<string> labels, IReadOnlyList<string> disableLabels)
    {
        var names = string.Join(", ", labels.Select(l => $"'{l}'"));
        var disable = disableLabels.Count > 0 ? disableLabels[0] : "remove";
        return $"Which of these is shown in this picture: {names}? Respond with only that word. If it is none of them, say '{disable}'.";
    }
}
