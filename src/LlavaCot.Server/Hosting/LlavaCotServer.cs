using System.Reflection;
using LlavaCot.Model;
using LlavaCot.Server.Api;
using LlavaCot.Server.Docs;
using LlavaCot.Server.OpenAi;
using LlavaCot.Server.Ops;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace LlavaCot.Server.Hosting;

/// <summary>Builds the web application: configuration, logging, admission, the model service, endpoints and Swagger.</summary>
public static class LlavaCotServer
{
    /// <param name="configureServices">Extra services, applied last (tests add an <see cref="IGeneratorDecorator"/>).</param>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureServices = null)
    {
        TorchNative.Initialize();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddCommandLine(args, ServerOptions.Switches);
        var section = builder.Configuration.GetSection(ServerOptions.Section);
        var settings = section.Get<ServerOptions>() ?? new ServerOptions();

        builder.Services.AddOptions<ServerOptions>().Bind(section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ServerOptions>, ServerOptionsValidator>();
        builder.Services.AddSerilog((services, log) =>
        {
            log.ReadFrom.Configuration(builder.Configuration)
                .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
                .Enrich.FromLogContext();
            // Extra sinks registered as services (tests read the log through one).
            foreach (var sink in services.GetServices<Serilog.Core.ILogEventSink>())
                log.WriteTo.Sink(sink);
            if (settings.LogFormat == "json")
                log.WriteTo.Console(new RenderedCompactJsonFormatter());
            else
                log.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}");
        }, preserveStaticLogger: true); // each server logs through its own logger, never the process-wide static one

        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = settings.MaxBodyBytes);
        builder.Services.Configure<FormOptions>(f => f.MultipartBodyLengthLimit = settings.MaxBodyBytes);
        builder.Services.ConfigureHttpJsonOptions(j => ApiJson.Configure(j.SerializerOptions));
        builder.Services.AddProblemDetails(p => p.CustomizeProblemDetails = c =>
        {
            c.ProblemDetails.Extensions["request_id"] = c.HttpContext.TraceIdentifier;
        });

        builder.Services.AddExceptionHandler<UnexpectedErrors>();
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<ServerOptions>>().Value;
            return new Admission(o.MaxConcurrentSearches, o.QueueLength);
        });
        builder.Services.AddSingleton<ModelService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ModelService>());
        builder.Services.AddSingleton<ServerMetrics>();
        builder.Services.AddSingleton<ReasonExecution>();
        builder.Services.AddSingleton<ImageUrlFetcher>();

        builder.Services.AddEndpointsApiExplorer();
        builder.Services.AddSingleton<ISerializerDataContractResolver>(new JsonSerializerDataContractResolver(ApiJson.Options));
        builder.Services.AddSwaggerGen(s =>
        {
            s.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "LlavaCot",
                Version = "v1",
                Description = "Questions about images answered with LLaVA-CoT's staged reasoning " +
                              "(SUMMARY → CAPTION → REASONING → CONCLUSION) and stage-level beam search. Every error is problem+json.",
            });
            var xml = Path.Combine(AppContext.BaseDirectory, $"{Assembly.GetExecutingAssembly().GetName().Name}.xml");
            if (File.Exists(xml))
                s.IncludeXmlComments(xml);
            s.OperationFilter<RequestBodyFilter>();
            s.SchemaFilter<WireNamesFilter>();
        });
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseMiddleware<RequestPipeline>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseSwagger();
        app.UseSwaggerUI(ui =>
        {
            ui.SwaggerEndpoint("/swagger/v1/swagger.json", "LlavaCot v1");
            ui.DocumentTitle = "LlavaCot API";
            // Links like /swagger#/Reasoning/Reason open that operation, ready to send (the image file picker shown).
            ui.EnableDeepLinking();
            ui.EnableTryItOutByDefault();
        });
        // The search page (wwwroot beside the server): plain files, no build step, nothing loaded from elsewhere.
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapReasonEndpoints();
        app.MapOpenAiEndpoints();
        app.MapOpsEndpoints();
        return app;
    }
}
