import gc

from PySide6.QtCore import QObject


def test_cycles_are_collected_on_the_gui_thread_while_a_collector_lives(qtbot):
    from dip_gui.ui.gui_thread_gc import GuiThreadGarbageCollector, collect_due_generations

    before = GuiThreadGarbageCollector.alive
    owner = QObject()
    GuiThreadGarbageCollector(owner)
    assert not gc.isenabled()  # no collection in whichever thread allocates (the run's worker)
    for _ in range(gc.get_threshold()[0] + 10):  # cycles enough to pass the youngest threshold
        cycle: list = []
        cycle.append(cycle)
    assert collect_due_generations() > 0
    owner.deleteLater()
    qtbot.waitUntil(lambda: GuiThreadGarbageCollector.alive == before, timeout=2000)
    assert gc.isenabled() == (before == 0)  # the last collector gone: automatic again
