namespace Owlbox.Verification.Tests;

public sealed class AnswerNormaliserTests
{
    [Theory]
    // The block: lower-case, trailing dots stripped (all of them, /(\.)+$/).
    [InlineData("Red", "red")]
    [InlineData("RED...", "red")]
    [InlineData("a.b.", "a.b")]
    // Trimmed too (the block left "remove\n" as a label called "remove\n").
    [InlineData(" Remove \n", "remove")]
    [InlineData("cat .", "cat")]
    public void Normalise_follows_the_block_and_trims(string raw, string expected) =>
        Assert.Equal(expected, AnswerNormaliser.Normalise(raw));

    private static readonly string[] Allowed = ["Red", "green", "blue"];
    private static readonly string[] Disable = ["background"];

    [Theory]
    [InlineData("red", "red", "keep", null)]
    [InlineData("Red.", "RED", "keep", null)]
    [InlineData("green", "red", "relabel", "green")]
    [InlineData("\"blue\"", "red", "relabel", "blue")]
    [InlineData("'Blue'.", "red", "relabel", "blue")]
    [InlineData("`green`", "red", "relabel", "green")]
    [InlineData("Answer: green", "red", "relabel", "green")]
    [InlineData("**Green**", "red", "relabel", "green")]
    [InlineData("{\"label\": \"green\"}", "red", "relabel", "green")]
    [InlineData("{\"Label\": \"Background\"}", "red", "remove", "background")]
    [InlineData("```json\n{\"label\": \"blue\"}\n```", "red", "relabel", "blue")]
    [InlineData("```\nred\n```", "green", "relabel", "Red")]
    [InlineData("background", "green", "remove", "background")]
    [InlineData("BACKGROUND.", "green", "remove", "background")]
    [InlineData("purple", "red", "invalid", null)]
    [InlineData("It is red", "red", "invalid", null)]
    [InlineData("", "red", "invalid", null)]
    [InlineData("{\"label\": 3}", "red", "invalid", null)]
    [InlineData("{not json", "red", "invalid", null)]
    public void Judge_matches_the_allowed_set_leniently(string raw, string current, string kind, string? to)
    {
        var verdict = AnswerNormaliser.Judge(raw, current, Allowed, Disable);
        switch (kind)
        {
            case "keep":
                Assert.IsType<Verdict.Keep>(verdict);
                break;
            case "relabel":
                // The allowed set's own spelling comes back ("Red"), not the model's.
                Assert.Equal(to, Assert.IsType<Verdict.Relabel>(verdict).To);
                break;
            case "remove":
                Assert.Equal(to, Assert.IsType<Verdict.Remove>(verdict).Word);
                break;
            default:
                Assert.Equal(raw, Assert.IsType<Verdict.Invalid>(verdict).Raw);
                break;
        }
    }

    [Theory]
    // No allowed set: the block's free text, any non-empty answer becomes the label.
    [InlineData("Tabby cat.", "animal", "relabel", "tabby cat")]
    [InlineData("Animal", "animal", "keep", null)]
    [InlineData("remove", "animal", "remove", "remove")]
    [InlineData("  ", "animal", "invalid", null)]
    public void Judge_without_an_allowed_set_takes_any_answer_as_the_block(string raw, string current, string kind, string? to)
    {
        var verdict = AnswerNormaliser.Judge(raw, current, [], ["remove"]);
        object expected = kind switch
        {
            "keep" => new Verdict.Keep(),
            "relabel" => new Verdict.Relabel(to!),
            "remove" => new Verdict.Remove(to!),
            _ => new Verdict.Invalid(raw),
        };
        Assert.Equal(expected, verdict);
    }

    [Theory]
    [InlineData("{\"label\":\"red\",\"reason\":\"a red square\"}", "a red square")]
    [InlineData("{\"label\":\"red\"}", null)]
    [InlineData("red", null)]
    public void A_structured_reason_is_read_when_given(string raw, string? reason) =>
        Assert.Equal(reason, AnswerNormaliser.TryReadReason(raw));
}
