using System.Runtime.InteropServices;

namespace Owlbox.Cli;

/// <summary>
/// The one place a requested stop enters the process: SIGINT (Ctrl+C), SIGTERM (<c>kill</c>, <c>docker stop</c>,
/// Kubernetes) and SIGQUIT (Ctrl+\ ; Ctrl+Break on Windows) cancel <see cref="Token"/> instead of ending the process,
/// so every command stops taking work, writes what is done, says what was not, and exits 130. A second signal gets
/// the default action (the process ends at once), for a stop that does not come.
/// </summary>
public sealed class StopSignal : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration[] _registrations;

    public StopSignal()
    {
        _registrations = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGQUIT }.Select(s => PosixSignalRegistration.Create(s, OnSignal))];
    }

    public CancellationToken Token => _stop.Token;

    private void OnSignal(PosixSignalContext context)
    {
        if (_stop.IsCancellationRequested)
        {
            return; // asked twice: let it end the process
        }
        context.Cancel = true;
        // Not on the signal's thread: cancelling runs the commands' callbacks inline.
        _ = Task.Run(_stop.Cancel);
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
        _stop.Dispose();
    }
}

/// <summary>A requested stop, with what the command has to say about it (printed as it is, exit 130).</summary>
public sealed class CommandStoppedException(string message, CancellationToken token) : OperationCanceledException(message, token);
