"""The optvol dashboard (Streamlit): pick a model and its inputs, see the prediction beside
every baseline and the realized value, the evaluation's metrics and plots.

Run it with ``optvol dashboard [--data-dir DIR]``. It reads the artifacts the API serves,
through the same core code (:class:`~optvol.serve.models.ServedModels`, the
predictors, the report builders and the chart functions).
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd
import streamlit as st

from optvol.core.common.errors import RequestError
from optvol.core.common.paths import resolve_data_root
from optvol.serve.models import MODELS, ServedModels


def _root_argument() -> str:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--data-dir")
    known, _ = parser.parse_known_args(sys.argv[1:])
    return str(resolve_data_root(known.data_dir))


@st.cache_resource(show_spinner="Loading the models ...")
def load_models(root: str) -> ServedModels:
    """The served models of ``root``, loaded once per dashboard process."""
    return ServedModels.load(root)


def _price_table(prediction) -> pd.DataFrame:
    prices = {"gru": prediction.gru, **prediction.baselines}
    realized = prediction.realized_mid
    return pd.DataFrame(
        {
            "model": list(prices),
            "price ($)": list(prices.values()),
            "error vs realized ($)": [
                None if realized is None else price - realized for price in prices.values()
            ],
        }
    )


def _forget(*keys: str) -> None:
    """Drop the widgets' state, so that they show their new defaults on the next run."""
    for key in keys:
        st.session_state.pop(key, None)


def options_page(served: ServedModels) -> None:
    from optvol.core.options.prediction import ContractRequest
    from optvol.serve.plots import option_history_png

    predictor = served.options
    days = predictor.trading_days_with_successor()
    # A new date resets S_t to that day's price (a keyed widget keeps its value otherwise).
    as_of = st.selectbox("Quote date t", days, index=len(days) - 1, key="as_of",
                         on_change=_forget, args=("underlying",))  # fmt: skip
    previous = predictor.previous_trading_day(as_of)
    contracts = predictor.contracts_quoted_on(previous)
    contracts = contracts.loc[contracts["expiration"].dt.date >= as_of]
    if contracts.empty:
        st.warning(f"No contract has a quote on {previous}, the day before {as_of}.")
        return
    roots = sorted(contracts["root"].unique())
    root = None
    if len(roots) > 1:  # several option classes (SPX and SPXW): choose one
        root = st.radio("Option class", roots, horizontal=True, key="root")
        contracts = contracts.loc[contracts["root"] == root]
    left, middle, right = st.columns(3)
    expirations = sorted(contracts["expiration"].dt.date.unique())
    expiration = left.selectbox("Expiration", expirations, key="expiration")
    option_type = middle.radio("Type", ["C", "P"], horizontal=True, key="option_type",
                               format_func={"C": "call", "P": "put"}.get)  # fmt: skip
    strikes = sorted(
        contracts.loc[
            (contracts["expiration"].dt.date == expiration)
            & (contracts["option_type"] == option_type),
            "strike",
        ].unique()
    )
    if not strikes:
        st.warning("No contract of this type and expiration was quoted the day before.")
        return
    strike = right.selectbox("Strike", strikes, index=len(strikes) // 2, key="strike")
    spot = predictor.spot_on(as_of)
    underlying = st.number_input("Underlying price S_t", min_value=0.01, value=float(spot),
                                 format="%.2f", key="underlying")  # fmt: skip
    if st.button("Predict", key="predict", type="primary"):
        request = ContractRequest(
            expiration, float(strike), option_type, as_of, underlying, root=root
        )
        try:
            prediction = predictor.predict([request])[0]
        except RequestError as error:
            st.error(str(error))
            return
        st.subheader("Prediction")
        realized = prediction.realized_mid
        columns = st.columns(4)
        columns[0].metric("GRU price", f"${prediction.gru:,.4f}")
        columns[1].metric("GRU delta", f"{prediction.delta:+.4f}")
        columns[2].metric("Realized mid", "not known" if realized is None else f"${realized:,.4f}")
        columns[3].metric("Model version", served.status["options"].version)
        st.dataframe(_price_table(prediction), hide_index=True, key="option_prices")
        st.image(option_history_png(predictor, expiration, float(strike), option_type, root),
                 caption="The contract's mid and every model's price of it")  # fmt: skip


def volatility_page(served: ServedModels) -> None:
    predictor = served.volatility
    mode = st.radio("Forecast from", ["a date of the data", "feature values"],
                    horizontal=True, key="volatility_mode")  # fmt: skip
    last = predictor.last_date
    # A new date refills the feature values from it (keyed widgets keep theirs otherwise).
    fields = tuple(f"feature_{name}" for name in predictor.feature_names)
    as_of = st.date_input("Date", value=last, min_value=predictor.first_date, max_value=last,
                          key="volatility_date", on_change=_forget, args=fields)  # fmt: skip
    values = None
    if mode == "feature values":
        try:
            start = predictor.features_on(as_of)
        except RequestError:
            start = predictor.features_on(last)
        st.caption(
            "Every feature of the model, filled in from the date above; change any. "
            "An empty field is a missing value."
        )
        columns = st.columns(4)
        values = {
            name: columns[i % 4].number_input(name, value=start[name],
                                              format="%.6f", key=f"feature_{name}")
            for i, name in enumerate(predictor.feature_names)
        }  # fmt: skip
    if st.button("Forecast", key="forecast", type="primary"):
        try:
            p = predictor.from_features(values) if values else predictor.at_date(as_of)
        except RequestError as error:
            st.error(str(error))
            return
        st.subheader("Forecast of the next 21 trading days")
        columns = st.columns(3)
        columns[0].metric(f"{p.model} volatility",
                          "n/a" if p.volatility is None else f"{p.volatility:.2%}")  # fmt: skip
        realized = p.realized.get("volatility")
        columns[1].metric("Realized volatility", "not known" if realized is None
                          else f"{realized:.2%}")  # fmt: skip
        columns[2].metric("Model version", served.status["volatility"].version)
        rows = {p.model: p.volatility, **{k: v for k, v in p.baselines.items()
                                          if "return" not in k}}  # fmt: skip
        table = pd.DataFrame({"model": list(rows), "volatility": list(rows.values())})
        table["error vs realized"] = None if realized is None else table["volatility"] - realized
        st.dataframe(table, hide_index=True, key="volatility_forecasts")
        st.write(
            "21-day log return: restricted forecast "
            + ("n/a" if p.log_return is None else f"{p.log_return:+.4f}")
            + ", ridge "
            + _signed(p.baselines.get("return_ridge"))
            + ", historical mean "
            + _signed(p.baselines.get("historical_mean_return"))
            + ", realized "
            + _signed(p.realized.get("log_return"))
        )
        for note in p.notes:
            st.caption(note)


def _signed(value: float | None) -> str:
    return "not known" if value is None else f"{value:+.4f}"


def evaluation_section(served: ServedModels, name: str) -> None:
    """The report's results table and every figure of the report, with their captions."""
    from optvol.core.options import report as option_report
    from optvol.core.volatility import report as volatility_report

    if name not in served.evaluations:
        st.info(f"No evaluation: {served.evaluation_errors[name]}")
        return
    module = option_report if name == "options" else volatility_report
    build = module.build_option_report if name == "options" else module.build_volatility_report
    report = build(served.evaluations[name], served.plots_dir)
    st.header("Evaluation")
    table = report.section(module.RESULTS_SECTION).tables()[0]
    st.caption(table.caption)
    st.dataframe(pd.DataFrame(list(table.rows), columns=list(table.columns)), hide_index=True,
                 key=f"{name}_metrics")  # fmt: skip
    for figure in report.figures():
        if figure.path.exists():
            st.image(str(figure.path), caption=figure.caption)


def main() -> None:
    st.set_page_config(page_title="optvol", layout="wide")
    served = load_models(_root_argument())
    st.title("optvol")
    loaded = [name for name in MODELS if served.status[name].loaded]
    for name in MODELS:
        if name not in loaded:
            st.sidebar.error(served.status[name].error)
    if not loaded:
        st.error("No model can be served from this data root.")
        return
    name = st.sidebar.radio("Model", loaded, key="model",
                            format_func={"options": "SPY options (GRU)",
                                         "volatility": "S&P 500 volatility"}.get)  # fmt: skip
    status = served.status[name]
    st.sidebar.caption(f"{status.description}, version {status.version}, saved {status.saved_at}")
    st.sidebar.caption(f"Data root: {served.data_root}")
    if name == "options":
        options_page(served)
    else:
        volatility_page(served)
    evaluation_section(served, name)


if __name__ == "__main__":
    main()
