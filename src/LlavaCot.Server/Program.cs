using LlavaCot.Model;

TorchNative.Initialize();
var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();

app.MapGet("/health/live", () => TypedResults.Ok(new { status = "live" }));

app.Run();

public partial class Program;
