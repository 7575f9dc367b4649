"""An ArviZ trace picture of recorded chains."""

from __future__ import annotations

from pgm.plots._common import save as _save

from .convert import to_inference_data

__all__ = ["plot_chain_trace"]


def plot_chain_trace(source, var_names=("energy", "free_energy"), path=None, title=None):
    """``az.plot_trace`` of ``source`` (anything :func:`to_inference_data` converts, e.g. a
    :class:`ChainRecord` of :func:`sample_chains`): per variable, the density of each chain
    (left) and its values over the draws (right), one colour per chain.

    Parameters
    ----------
    source : ChainRecord, pyro.infer.MCMC, dict or arviz.InferenceData
    var_names : sequence of str, optional
        Variables to draw; ``None`` draws all (every recorded unit is one line per chain).
    path : str or Path, optional
        Save a PNG there.
    title : str, optional
        Figure title; default names the sampler and the number of chains and draws.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .pyro_runs import import_arviz

    az = import_arviz()
    idata = to_inference_data(source)
    names = None if var_names is None else list(var_names)
    present = [v for v in (names or []) if v not in idata.posterior]
    if present:
        raise ValueError(f"plot_chain_trace: var_names {present} are not recorded; the variables are "
                         f"{list(idata.posterior.data_vars)}")
    axes = az.plot_trace(idata, var_names=names, compact=True)
    fig = axes.ravel()[0].figure
    for row in axes:
        row[0].set_ylabel("density")
        row[1].set_xlabel("draw")
        row[1].set_ylabel(row[1].get_title().split("\n")[0] + " (nats)" if row[1].get_title() in ("energy", "free_energy")
                          else row[1].get_title())
    sizes = idata.posterior.sizes
    sampler = getattr(source, "sampler", "MCMC")
    fig.suptitle(title or f"{sampler} chains: {sizes['chain']} chains × {sizes['draw']} draws", y=1.02)
    fig.tight_layout()
    _save(fig, path)
    return fig
