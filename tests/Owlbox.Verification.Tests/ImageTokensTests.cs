using Owlbox.LlmEmulator;

namespace Owlbox.Verification.Tests;

/// <summary>The emulator's image token count, against the worked examples in OpenAI's vision guide.</summary>
public sealed class ImageTokensTests
{
    [Theory]
    [InlineData(4096, 8192, "low", 85)]
    // 1024x1024 high: fits 2048; shorter side to 768 -> 768x768: 4 tiles -> 85 + 4 x 170.
    [InlineData(1024, 1024, "high", 765)]
    // 2048x4096 high: 1024x2048, then 768x1536: 2 x 3 tiles -> 1105.
    [InlineData(2048, 4096, "high", 1105)]
    // Never scaled up: a 64x64 crop is one tile.
    [InlineData(64, 64, "high", 255)]
    [InlineData(513, 100, "high", 425)]
    // auto: the emulator's rule, low up to 512x512.
    [InlineData(512, 512, "auto", 85)]
    [InlineData(600, 200, "auto", 425)]
    [InlineData(600, 200, null, 425)]
    public void Counts_as_OpenAI_documents(int w, int h, string? detail, int tokens) =>
        Assert.Equal(tokens, ImageTokens.Count(w, h, detail));
}
