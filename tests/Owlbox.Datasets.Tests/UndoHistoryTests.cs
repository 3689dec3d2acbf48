using Owlbox.Datasets.Review;

namespace Owlbox.Datasets.Tests;

public sealed class UndoHistoryTests
{
    [Fact]
    public void EachSession_UndoesOnlyItsOwnChanges_LatestFirst()
    {
        var history = new UndoHistory<int>();
        history.Push("tab-1", 1);
        history.Push("tab-2", 2);
        history.Push("tab-1", 3);

        Assert.True(history.TryPop("tab-1", out var first));
        Assert.True(history.TryPop("tab-1", out var second));
        Assert.False(history.TryPop("tab-1", out _));
        Assert.Equal((3, 1), (first, second));
        Assert.True(history.CanUndo("tab-2"));
        Assert.False(history.CanUndo("tab-3"));
    }

    [Fact]
    public void AStack_KeepsItsLatestEntries_AndTheLeastRecentlyUsedSessionIsForgotten()
    {
        var history = new UndoHistory<int>(depth: 2, sessions: 2);
        history.Push("a", 1);
        history.Push("a", 2);
        history.Push("a", 3);
        history.Push("b", 10);
        history.TryPop("a", out var latest); // "a" used last: "b" is the least recently used
        history.Push("c", 20);

        Assert.Equal(3, latest);
        Assert.True(history.TryPop("a", out var older));
        Assert.Equal(2, older); // 1 fell off the bottom
        Assert.False(history.CanUndo("b"));
        Assert.True(history.CanUndo("c"));
    }
}
