using Owlbox.Pipeline;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Owlbox.Contracts.V1;
using Owlbox.Datasets;
using Owlbox.Jobs;

namespace Owlbox.Cli.Tests;

/// <summary>One service's consumers alone on MassTransit's test harness, with a real job store (SQLite) and a real
/// dataset folder (a fresh copy of the bundled samples) holding one job that names every image.</summary>
public sealed class ConsumerHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private ConsumerHarness(Workspace workspace, SqliteJobStore store, ServiceProvider services, Guid jobId)
    {
        (Workspace, Store, _services, JobId) = (workspace, store, services, jobId);
        Harness = services.GetRequiredService<ITestHarness>();
    }

    public Workspace Workspace { get; }
    public SqliteJobStore Store { get; }
    public ITestHarness Harness { get; }
    public Guid JobId { get; }

    /// <param name="register">The role's own registrations (its <c>Add&lt;Role&gt;</c>).</param>
    public static async Task<ConsumerHarness> StartAsync(Action<IServiceCollection, IBusRegistrationConfigurator> register, string prompt = "red\nblue",
        Action<IServiceCollection>? services = null)
    {
        var workspace = new Workspace();
        var store = new SqliteJobStore(Path.Combine(workspace.Root, "jobs.db"));
        var images = new MassTransit.MessageData.InMemoryMessageDataRepository();
        var collection = new ServiceCollection()
            .AddSingleton<IJobStore>(store)
            .AddSingleton<IMessageDataRepository>(images)
            .AddSingleton<JobPlans>()
            .AddSingleton(OneProcessGates.Unbounded)
            .AddSingleton<IDatasetBackendFactory>(new DatasetBackendFactory([new LocalDatasetKind(LocalDatasetAccess.AnyFolder)]));
        services?.Invoke(collection);
        collection.AddMassTransitTestHarness(x =>
        {
            register(collection, x);
            x.UsingInMemory((context, cfg) =>
            {
                cfg.UseMessageData(images); // images travel by claim check, as between fetcher and detector
                cfg.ConfigureEndpoints(context);
            });
        });
        var provider = collection.BuildServiceProvider(true);
        await store.InitializeAsync(default);
        var jobId = Guid.NewGuid();
        var spec = new JobSpec(new DatasetReference("local", workspace.Dataset), Workspace.Owlv2Model, "model", prompt, new JobOptions(0.1, true, 0.2, false, 0, 0, "no"), null, null);
        await store.TryCreateAsync(jobId, spec, default);
        var harness = new ConsumerHarness(workspace, store, provider, jobId);
        await harness.Harness.Start();
        return harness;
    }

    /// <summary>An image as the fetcher hands it on (claim check in the harness's repository).</summary>
    public Task<MessageData<byte[]>> ImageAsync(byte[] bytes) =>
        Harness.Scope.ServiceProvider.GetRequiredService<IMessageDataRepository>().PutBytes(bytes);

    public Task RegisterAllImagesAsync() =>
        Store.RegisterSamplesAsync(JobId, Workspace.Images.Select(i => new SampleRegistration(i)).ToArray(), [], default);

    /// <summary>Publishes and waits until the consumers have taken the message and the bus is quiet.</summary>
    public async Task ConsumeAsync<T>(T message)
        where T : class
    {
        var before = await Harness.Consumed.SelectAsync<T>().Count();
        await Harness.Bus.Publish(message);
        for (var i = 0; i < 400 && await Harness.Consumed.SelectAsync<T>().Count() == before; i++)
        {
            await Task.Delay(25);
        }
        await Harness.InactivityTask;
    }

    public async Task<T[]> PublishedAsync<T>()
        where T : class =>
        await Harness.Published.SelectAsync<T>().Select(p => p.Context.Message).ToArrayAsync();

    public async ValueTask DisposeAsync()
    {
        await Harness.Stop();
        await _services.DisposeAsync();
        Workspace.Dispose();
    }
}
