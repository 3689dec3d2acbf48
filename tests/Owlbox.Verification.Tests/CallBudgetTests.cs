namespace Owlbox.Verification.Tests;

public sealed class CallBudgetTests
{
    [Theory]
    [InlineData(0, 3, 0, 3)]
    [InlineData(2, 5, 2, 3)]
    [InlineData(5, 5, 5, 0)]
    [InlineData(null, 7, 7, 0)]
    public void Takes_up_to_the_limit_and_counts_what_was_left(int? max, int asks, int used, int left)
    {
        var budget = new CallBudget(max);
        var granted = Enumerable.Range(0, asks).Count(_ => budget.TryTake());
        Assert.Equal((used, used, left), (granted, (int)budget.Used, (int)budget.Left));
    }

    [Fact]
    public async Task Racing_takers_never_exceed_the_limit()
    {
        var budget = new CallBudget(10);
        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(budget.TryTake)));
        Assert.Equal(10, results.Count(r => r));
        Assert.Equal((10L, 190L), (budget.Used, budget.Left));
    }

    [Fact]
    public void A_negative_limit_is_refused() => Assert.Throws<ArgumentOutOfRangeException>(() => new CallBudget(-1));
}
