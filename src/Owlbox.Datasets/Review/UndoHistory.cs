namespace Owlbox.Datasets.Review;

/// <summary>
/// One undo stack per page session (a tab of the review page), so one tab's undo never reverses another tab's change.
/// Bounded both ways: a stack keeps its latest <see cref="Depth"/> entries, and past <see cref="Sessions"/> sessions
/// the one used least recently is forgotten (a long-open server keeps no history of closed tabs). Thread-safe.
/// </summary>
public sealed class UndoHistory<T>(int depth = UndoHistory<T>.DefaultDepth, int sessions = UndoHistory<T>.DefaultSessions)
{
    public const int DefaultDepth = 200;
    public const int DefaultSessions = 64;

    private readonly Dictionary<string, LinkedList<T>> _stacks = new(StringComparer.Ordinal);
    private readonly LinkedList<string> _recent = new(); // most recently used first
    private readonly Lock _lock = new();

    public int Depth { get; } = depth > 0 ? depth : throw new ArgumentOutOfRangeException(nameof(depth));
    public int Sessions { get; } = sessions > 0 ? sessions : throw new ArgumentOutOfRangeException(nameof(sessions));

    public void Push(string session, T entry)
    {
        lock (_lock)
        {
            var stack = Touch(session, create: true)!;
            stack.AddLast(entry);
            if (stack.Count > Depth)
            {
                stack.RemoveFirst();
            }
        }
    }

    public bool TryPop(string session, out T entry)
    {
        lock (_lock)
        {
            if (Touch(session, create: false) is { Count: > 0 } stack)
            {
                entry = stack.Last!.Value;
                stack.RemoveLast();
                return true;
            }
            entry = default!;
            return false;
        }
    }

    public bool CanUndo(string session)
    {
        lock (_lock)
        {
            return _stacks.TryGetValue(session, out var stack) && stack.Count > 0;
        }
    }

    private LinkedList<T>? Touch(string session, bool create)
    {
        if (_stacks.TryGetValue(session, out var stack))
        {
            _recent.Remove(session);
            _recent.AddFirst(session);
            return stack;
        }
        if (!create)
        {
            return null;
        }
        stack = new LinkedList<T>();
        _stacks[session] = stack;
        _recent.AddFirst(session);
        if (_recent.Count > Sessions)
        {
            _stacks.Remove(_recent.Last!.Value);
            _recent.RemoveLast();
        }
        return stack;
    }
}
