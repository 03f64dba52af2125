"""The reference model's validation accuracy and macro-F1 per checkpoint (the run overview)."""

from __future__ import annotations

import plotly.graph_objects as go

from app.figures.style import finish, label_colour


def reference_curve_chart(curve: list[dict], num_labels: int) -> go.Figure:
    """Accuracy and macro-F1 against epoch (0 = the pre-trained model with its fresh head), on a 0..1
    axis with the majority-free chance level 1 / labels drawn, so "learned nothing" is plain to see."""
    fig = go.Figure()
    epochs = [row["epoch"] for row in curve]
    for i, (key, name) in enumerate((("accuracy", "accuracy"), ("macro_f1", "macro-F1"))):
        fig.add_trace(
            go.Scatter(
                x=epochs,
                y=[row[key] for row in curve],
                mode="lines+markers",
                name=name,
                line={"color": label_colour(i)},
                hovertemplate=f"epoch %{{x}}: {name} %{{y:.3f}}<extra></extra>",
            )
        )
    if num_labels > 1:
        chance = 1 / num_labels
        fig.add_trace(
            go.Scatter(
                x=[min(epochs), max(epochs)],
                y=[chance, chance],
                mode="lines",
                name=f"chance (1/{num_labels})",
                line={"color": "#999", "dash": "dot", "width": 1},
                hoverinfo="skip",
            )
        )
    finish(fig, title="Reference model on the validation split", height=300)
    fig.update_xaxes(title="epoch (0 = pre-trained)", dtick=1)
    fig.update_yaxes(title="score", range=[0, 1.02], tickformat=".2f")
    return fig


def generation_curve_chart(curve: list[dict]) -> go.Figure:
    """A generation run's validation response-token loss (and the epoch's mean training loss) by epoch."""
    fig = go.Figure()
    epochs = [row["epoch"] for row in curve]
    for i, (key, name) in enumerate((("loss", "validation loss"), ("train_loss", "training loss"))):
        points = [(e, row.get(key)) for e, row in zip(epochs, curve) if row.get(key) is not None]
        if not points:
            continue
        fig.add_trace(
            go.Scatter(
                x=[e for e, _ in points],
                y=[v for _, v in points],
                mode="lines+markers",
                name=name,
                line={"color": label_colour(i)},
                hovertemplate=f"epoch %{{x}}: {name} %{{y:.3f}}<extra></extra>",
            )
        )
    finish(fig, title="Reference model: response-token loss", height=300)
    fig.update_xaxes(title="epoch (0 = pre-trained)", dtick=1)
    fig.update_yaxes(title="mean loss per response token")
    return fig
